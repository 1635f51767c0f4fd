"""Top-down pose inference used by ``tools/demo/pose_demo.py`` and the human pass: boxes -> crops (the config's test
pipeline without image loading: box centre/scale ×1.25, UDP affine) -> batched ``predict`` (flip test optional) ->
keypoints in image pixels. Built on :mod:`sapiens2.apis.inference`."""
from typing import List, Optional, Union

import numpy as np
from mmengine import Config
from mmengine.dataset import Compose

from .inference import build_test_pipeline, inference_data, init_model


def init_pose_model(config: Union[str, Config, None], checkpoint: Optional[str] = None, device: str = 'cpu',
                    flip_test: Optional[bool] = None, cfg_options: Optional[dict] = None):
    """:func:`~sapiens2.apis.inference.init_model` of a pose config, with ``test_cfg.flip_test`` set when
    ``flip_test`` is given. ``model.dataset_meta`` (names, ``flip_indices``, skeleton) is the metainfo of the
    config's test dataset: the 308-keypoint file for the bundled configs, mmpose's COCO-17 / 133 files for models
    trained on those."""
    model = init_model(config, checkpoint, device, cfg_options)
    if flip_test is not None:
        model.test_cfg['flip_test'] = bool(flip_test)
    meta = model.dataset_meta or {}
    if 'flip_indices' not in meta:
        raise ValueError(f'pose config {config if config is not None else checkpoint!r}: test_dataloader.dataset '
                         'names no keypoint metainfo (a pose dataset type or metainfo=dict(from_file=...))')
    return model


def pose_crops(model, img: np.ndarray, bboxes: Optional[np.ndarray] = None, transforms: Optional[Compose] = None,
               img_path: str = '') -> List[dict]:
    """One data dict per box (``bboxes`` [N, 4] x1, y1, x2, y2; when None or empty, the whole image as the released
    demo boxes it: ``[0, 0, w - 1, h - 1]``)."""
    transforms = transforms or build_test_pipeline(model.cfg)
    h, w = img.shape[:2]
    if bboxes is None or len(bboxes) == 0:
        bboxes = np.array([[0, 0, w - 1, h - 1]], dtype=np.float32)
    data = []
    for i, box in enumerate(np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)):
        info = dict(img=img, img_path=img_path, img_shape=(h, w), ori_shape=(h, w), id=i, img_id=0,
                    bbox=box[None], bbox_score=np.ones(1, np.float32),
                    flip_indices=model.dataset_meta['flip_indices'])
        data.append(transforms(info))
    return data


def inference_pose(model, img: np.ndarray, bboxes: Optional[np.ndarray] = None, batch_size: int = 8,
                   dtype: str = 'fp32', progress: bool = False) -> dict:
    """Image (BGR uint8 [H, W, 3]) and boxes -> ``dict(bboxes [N, 4], keypoints [N, K, 2] image pixels,
    keypoint_scores [N, K])``."""
    samples = inference_data(model, pose_crops(model, img, bboxes), batch_size=batch_size, dtype=dtype,
                             progress=progress)
    return dict(bboxes=np.concatenate([np.asarray(s.gt_instances.bboxes) for s in samples]),
                keypoints=np.concatenate([s.pred_instances.keypoints for s in samples]),
                keypoint_scores=np.concatenate([s.pred_instances.keypoint_scores for s in samples]))
