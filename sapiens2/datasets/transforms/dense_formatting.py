"""Packing of dense samples into model inputs ([3, H, W] uint8 tensors) and data samples."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement, PixelData
from mmseg.structures import SegDataSample

from sapiens2.registry import TRANSFORMS

CANONICAL_FOCAL = 768.0
DEFAULT_META_KEYS = ('img_path', 'sample_name', 'ori_shape', 'img_shape', 'pad_param', 'letterbox_scale',
                     'scale_factor', 'flip', 'flip_direction', 'num_invalid_target_pixels', 'cam_K')


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """H×W×3 (or H×W) array -> [C, H, W] tensor (dtype kept)."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def canonical_pointmap(depth: np.ndarray, K: np.ndarray, focal: float = CANONICAL_FOCAL):
    """depth H×W (metric Z), K 3×3 -> (pointmap H×W×3 = (X, Y, Z) · focal / fx, scale focal / fx),
    X = (u − cx) Z / fx, Y = (v − cy) Z / fy, u, v integer pixel centres."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    v, u = np.mgrid[0:depth.shape[0], 0:depth.shape[1]].astype(np.float64)
    z = depth.astype(np.float64)
    points = np.stack([(u - cx) * z / fx, (v - cy) * z / fy, z], -1) * (focal / fx)
    return points.astype(np.float32), float(focal / fx)


def _meta(results: dict, meta_keys) -> dict:
    meta = {k: results[k] for k in meta_keys if k in results}
    if 'pad_param' in meta:
        meta['pad_param'] = tuple(int(v) for v in meta['pad_param'])
    return meta


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """-> dict(inputs [3, H, W] uint8, data_samples ``SegDataSample`` with ``gt_sem_seg`` [1, H, W] long).

    Required Keys:

        - img
        - gt_seg_map (optional)
        - the ``meta_keys`` (optional each; default :data:`DEFAULT_META_KEYS`), copied to the sample's metainfo

    Args:
        meta_keys (tuple): results keys copied to the metainfo when present.
    """

    def __init__(self, meta_keys=DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = SegDataSample()
        if 'gt_seg_map' in results:
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(results['gt_seg_map'][None].astype(np.int64)))
        sample.set_metainfo(_meta(results, self.meta_keys))
        return dict(inputs=image_to_tensor(results['img']), data_samples=sample)


@TRANSFORMS.register_module()
class PackDenseInputs(BaseTransform):
    """-> dict(inputs [3, H, W] uint8, data_samples ``BaseDataElement`` with ``gt_<task>`` [3, H, W] float32 and
    ``gt_mask`` [1, H, W] float32). For 'pointmap' the canonical pointmap and ``gt_scale`` (metainfo) are computed
    here from the (transformed) depth and ``cam_K`` (:func:`canonical_pointmap`).

    Required Keys:

        - img
        - gt_normal / gt_albedo (optional; ``task`` 'normal' / 'albedo')
        - gt_depth and cam_K (optional; ``task='pointmap'``)
        - gt_mask (optional; all ones when absent and a target is packed)
        - the ``meta_keys`` (optional each; default :data:`DEFAULT_META_KEYS`), copied to the sample's metainfo

    Args:
        task (str): 'normal', 'pointmap' or 'albedo'.
        meta_keys (tuple): results keys copied to the metainfo when present.
    """

    def __init__(self, task: str, meta_keys=DEFAULT_META_KEYS):
        if task not in ('normal', 'pointmap', 'albedo'):
            raise ValueError(f"task must be 'normal', 'pointmap' or 'albedo', got {task!r}")
        self.task, self.meta_keys = task, tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = BaseDataElement()
        meta = _meta(results, self.meta_keys)
        if self.task == 'pointmap' and 'gt_depth' in results:
            target, meta['gt_scale'] = canonical_pointmap(results['gt_depth'], results['cam_K'])
        else:
            target = results.get(f'gt_{self.task}')
        if target is not None:
            sample.set_field(PixelData(data=image_to_tensor(target).float()), f'gt_{self.task}')
            mask = results.get('gt_mask', np.ones(target.shape[:2], np.uint8))
            sample.gt_mask = PixelData(data=image_to_tensor(mask).float())
        sample.set_metainfo(meta)
        return dict(inputs=image_to_tensor(results['img']), data_samples=sample)
