"""Inference helpers of the dense tasks (seg, normal, pointmap, albedo) used by ``tools/demo/dense_demo.py``.

Preprocessing is the config's ``test_pipeline`` without file loading and targets: a stretch resize for
segmentation, a letterbox resize (recorded padding) for the others; the estimators' ``predict`` applies the exact
inverse, so every prediction comes back at the original image size.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from sapiens2.registry import MODELS
from sapiens2.utils.package_files import load_config
from .inference import inference_data

_SKIP = ('LoadImageFromFile', 'LoadDenseAnnotations')


def init_dense_model(config: Union[str, Config, None], checkpoint: Optional[str] = None, device: str = 'cpu'):
    """Build the model of a dense config (a ``Config``, a file or a bundled name such as ``'seg/sapiens2_1b_seg29'``;
    no pretrained-backbone download) and load ``checkpoint`` strictly
    (.safetensors or MMEngine .pth, or a Hugging Face Hub id ``hf://owner/name``). The config is kept as ``model.cfg``.
    ``config=None`` takes the config of a Hub ``checkpoint`` (:func:`sapiens2.utils.hub.config_for_checkpoint`)."""
    import sapiens2.datasets  # noqa: F401
    import sapiens2.models  # noqa: F401
    from sapiens2.utils.hub import load_model_config
    cfg = load_config(load_model_config(config, checkpoint))
    if 'model' not in cfg:
        raise ValueError(f'config {config if config is not None else checkpoint!r} has no `model` (a backbone-only '
                         'config: load the checkpoint with sapiens2.apis.init_backbone or as a backbone init_cfg)')
    init_default_scope(cfg.get('default_scope', 'sapiens2'))
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        from sapiens2.utils.checkpoint import load_pretrained
        load_pretrained(model, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


def dense_task(model) -> str:
    """'seg', 'normal', 'pointmap' or 'albedo' from the estimator."""
    return getattr(model, 'task', 'seg')


def build_test_transforms(cfg: Config) -> Compose:
    """The config's ``test_pipeline`` minus file loading and target loading."""
    steps = [t for t in cfg.test_pipeline if t['type'].split('.')[-1] not in _SKIP]
    return Compose(steps)


def inference_dense(model, images: Sequence[np.ndarray], names: Optional[Sequence[str]] = None,
                    batch_size: int = 4, dtype: str = 'fp32', progress: bool = False) -> List[dict]:
    """Images (H×W×3 uint8 BGR) -> one dict per image, at the original size:
    seg: ``labels`` H×W int64 (+ ``logits`` K×H×W float32 is not kept to save memory); normal: ``normal`` H×W×3 unit
    vectors; pointmap: ``pointmap`` H×W×3 canonical, ``scale`` (768 / fx), ``metric_pointmap`` = pointmap / scale;
    albedo: ``albedo`` H×W×3 in [0, 1] (clipped)."""
    transforms = build_test_transforms(model.cfg)
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
        pred = s.get(f'pred_{task}').data.float().cpu().numpy().transpose(1, 2, 0)
        if task == 'pointmap':
            scale = float(s.metainfo['pred_scale'])
            outputs.append(dict(pointmap=pred, scale=scale, metric_pointmap=pred / scale))
        elif task == 'albedo':
            outputs.append(dict(albedo=np.clip(pred, 0, 1)))
        else:
            outputs.append(dict(normal=pred))
    return outputs


def select_device(device: str) -> str:
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device} requested but CUDA is not available')
    return device
