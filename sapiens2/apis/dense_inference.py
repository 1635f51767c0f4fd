"""Inference of the dense tasks (seg, normal, pointmap, albedo, matting) used by ``tools/demo/dense_demo.py`` and the human
pass, built on :mod:`sapiens2.apis.inference` (``init_dense_model`` is its ``init_model``).

Preprocessing is the config's ``test_pipeline`` without file loading and targets: a stretch resize for
segmentation, a letterbox resize (recorded padding) for the others; the estimators' ``predict`` applies the exact
inverse, so every prediction comes back at the original image size.
"""
from typing import List, Optional, Sequence

import numpy as np

from .inference import build_test_pipeline, inference_data, init_model

# the dense tasks' model builder is the shared one (``init_dense_model`` is the name the dense API documents)
init_dense_model = init_model


def dense_task(model) -> str:
    """'seg', 'normal', 'pointmap', 'albedo' or 'matting' from the estimator."""
    return getattr(model, 'task', 'seg')


def inference_dense(model, images: Sequence[np.ndarray], names: Optional[Sequence[str]] = None,
                    batch_size: int = 4, dtype: str = 'fp32', progress: bool = False) -> List[dict]:
    """Images (H×W×3 uint8 BGR) -> one dict per image, at the original size:
    seg: ``labels`` H×W int64 (+ ``logits`` K×H×W float32 is not kept to save memory); normal: ``normal`` H×W×3 unit
    vectors; pointmap: ``pointmap`` H×W×3 canonical, ``scale`` (768 / fx), ``metric_pointmap`` = pointmap / scale;
    albedo: ``albedo`` H×W×3 in [0, 1] (clipped); matting: ``alpha`` H×W float32 in [0, 1] and ``foreground`` H×W×3,
    the pre-multiplied foreground α·F (RGB in [0, 1])."""
    transforms = build_test_pipeline(model.cfg)
    task = dense_task(model)
    data = []
    for i, img in enumerate(images):
        h, w = img.shape[:2]
        name = names[i] if names is not None else str(i)
        data.append(transforms(dict(img=img, img_shape=(h, w), ori_shape=(h, w), img_path=name)))
    samples = inference_data(model, data, batch_size=batch_size, dtype=dtype, progress=progress)
    outputs = []
    for s in samples:
        if task == 'seg':
            outputs.append(dict(labels=s.pred_sem_seg.data[0].long().cpu().numpy()))
            continue
        if task == 'matting':
            outputs.append(dict(alpha=s.pred_alpha.data[0].float().cpu().numpy(),
                                foreground=s.pred_foreground.data.float().cpu().numpy().transpose(1, 2, 0)))
            continue
        pred = s.get(f'pred_{task}').data.float().cpu().numpy().transpose(1, 2, 0)
        if task == 'pointmap':
            scale = float(s.metainfo['pred_scale'])
            outputs.append(dict(pointmap=pred, scale=scale, metric_pointmap=pred / scale))
        elif task == 'albedo':
            outputs.append(dict(albedo=np.clip(pred, 0, 1)))
        else:
            outputs.append(dict(normal=pred))
    return outputs

