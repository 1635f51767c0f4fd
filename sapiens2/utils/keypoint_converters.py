"""Convert 308-keypoint predictions to the COCO-17, COCO-WholeBody-133 and OpenPose-18 layouts.

The shared keypoints come from ``coco_wholebody133_to_keypoints308`` of ``configs/_base_/datasets/keypoints308.py``
(generated from ``keypoints308.json``). Keypoints with no 308 counterpart get score 0 and position (0, 0).
OpenPose's ``neck`` is the midpoint of the shoulders (score: the smaller of the two).
"""
from functools import lru_cache
from typing import Dict, Tuple

import numpy as np
from mmengine.config import Config

from .package_files import dataset_metainfo_config

# OpenPose-18 from COCO-17 ids (-1: neck = shoulder midpoint): nose, neck, r/l shoulder-elbow-wrist, r/l hip-knee-ankle,
# r/l eye, r/l ear
OPENPOSE18_FROM_COCO17 = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
LAYOUT_SIZES = dict(coco17=17, coco_wholebody133=133, openpose18=18)


@lru_cache()
def coco_wholebody133_to_keypoints308() -> Dict[int, int]:
    return {int(k): int(v) for k, v in Config.fromfile(dataset_metainfo_config('keypoints308')).coco_wholebody133_to_keypoints308.items()}


def _gather(keypoints: np.ndarray, scores: np.ndarray, mapping: Dict[int, int], size: int):
    out_k = np.zeros(keypoints.shape[:-2] + (size, 2), dtype=keypoints.dtype)
    out_s = np.zeros(scores.shape[:-1] + (size,), dtype=scores.dtype)
    dst = [d for d in mapping if d < size]
    src = [mapping[d] for d in dst]
    out_k[..., dst, :] = keypoints[..., src, :]
    out_s[..., dst] = scores[..., src]
    return out_k, out_s


def convert_keypoints308(keypoints: np.ndarray, scores: np.ndarray, layout: str) -> Tuple[np.ndarray, np.ndarray]:
    """keypoints [..., 308, 2], scores [..., 308] -> ([..., M, 2], [..., M]) for ``layout`` in
    'coco17' (M=17), 'coco_wholebody133' (133), 'openpose18' (18)."""
    keypoints, scores = np.asarray(keypoints), np.asarray(scores)
    if keypoints.shape[-2:] != (308, 2) or scores.shape[-1] != 308 or scores.shape != keypoints.shape[:-1]:
        raise ValueError(f'expected keypoints [..., 308, 2] and scores [..., 308], got {keypoints.shape} and '
                         f'{scores.shape}')
    if layout not in LAYOUT_SIZES:
        raise ValueError(f'layout must be one of {sorted(LAYOUT_SIZES)}, got {layout!r}')
    to308 = coco_wholebody133_to_keypoints308()
    if layout in ('coco17', 'coco_wholebody133'):
        return _gather(keypoints, scores, to308, LAYOUT_SIZES[layout])
    coco_k, coco_s = _gather(keypoints, scores, to308, 17)
    ids = np.array(OPENPOSE18_FROM_COCO17)
    out_k, out_s = coco_k[..., np.maximum(ids, 0), :].copy(), coco_s[..., np.maximum(ids, 0)].copy()
    out_k[..., 1, :] = 0.5 * (coco_k[..., 5, :] + coco_k[..., 6, :])
    out_s[..., 1] = np.minimum(coco_s[..., 5], coco_s[..., 6])
    return out_k, out_s
