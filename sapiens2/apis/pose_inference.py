"""Top-down pose inference helpers used by ``tools/demo/pose_demo.py``: boxes -> crops (the config's test pipeline
without image loading: box centre/scale ×1.25, UDP affine) -> batched ``predict`` (flip test optional) ->
keypoints in image pixels."""
from typing import List, Optional, Union

import numpy as np
from mmengine import Config
from mmengine.dataset import Compose
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from sapiens2.utils.package_files import dataset_metainfo_config
from .dense_inference import init_dense_model
from .inference import inference_data

_SKIP = ('LoadPoseImage', 'LoadImage', 'LoadImageFromFile')


def init_pose_model(config: Union[str, Config, None], checkpoint: Optional[str] = None, device: str = 'cpu',
                    flip_test: Optional[bool] = None):
    """Build a pose config's model (no pretrained-backbone loading), load ``checkpoint`` strictly (.safetensors or
    MMEngine .pth, or a Hub id ``hf://owner/name``; ``config=None`` takes the Hub checkpoint's config) and attach
    ``model.dataset_meta`` (the 308-keypoint metainfo: names, flip_indices, skeleton)."""
    model = init_dense_model(config, checkpoint, device)
    if flip_test is not None:
        model.test_cfg['flip_test'] = bool(flip_test)
    model.dataset_meta = parse_pose_metainfo(dict(from_file=dataset_metainfo_config('keypoints308')))
    return model


def build_pose_transforms(cfg: Config) -> Compose:
    """The config's ``test_pipeline`` minus image loading."""
    return Compose([t for t in cfg.test_pipeline if t['type'].split('.')[-1] not in _SKIP])


def pose_crops(model, img: np.ndarray, bboxes: Optional[np.ndarray] = None, transforms: Optional[Compose] = None,
               img_path: str = '') -> List[dict]:
    """One data dict per box (``bboxes`` [N, 4] x1, y1, x2, y2; when None or empty, the whole image as the released
    demo boxes it: ``[0, 0, w - 1, h - 1]``)."""
    transforms = transforms or build_pose_transforms(model.cfg)
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
