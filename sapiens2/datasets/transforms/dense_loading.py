"""Loading of dense-task targets (segmentation labels, normals, depth + intrinsics, albedo, person mask)."""
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from sapiens2.registry import TRANSFORMS

# results key -> kind; geometric transforms use the kind to pick interpolation, border value and special handling
DENSE_FIELD_KINDS = dict(gt_seg_map='label', gt_mask='mask', gt_normal='normal', gt_depth='depth', gt_albedo='linear')


def add_dense_field(results: dict, key: str) -> None:
    fields = results.setdefault('dense_fields', [])
    if key not in fields:
        fields.append(key)


def _read(path: str, flags=cv2.IMREAD_UNCHANGED) -> np.ndarray:
    arr = cv2.imread(path, flags)
    if arr is None:
        raise OSError(f'cannot read image file {path}')
    return arr


SEG_IGNORE_INDEX = 255


def check_seg_ids(seg: np.ndarray, path: str, num_classes: Optional[int] = None) -> None:
    """Raise naming the mask file, its bad class ids (with pixel counts) and the valid range unless every id is
    < ``num_classes`` or == 255 (ignore). Without ``num_classes`` only ids above 255 (a 16-bit mask, which would wrap
    to another class in uint8) are refused."""
    limit = SEG_IGNORE_INDEX if num_classes is None else int(num_classes)
    if seg.size == 0 or int(seg.max()) < limit:
        return
    bad = (seg >= limit) & (seg != SEG_IGNORE_INDEX)
    if not bad.any():
        return
    ids, counts = np.unique(seg[bad], return_counts=True)
    listed = ', '.join(f'{i} ({c} px)' for i, c in zip(ids[:10].tolist(), counts[:10].tolist()))
    more = f' and {len(ids) - 10} more' if len(ids) > 10 else ''
    valid = (f'0-{limit - 1} ({limit} classes in the dataset metainfo)' if num_classes is not None else '0-254')
    raise ValueError(f'segmentation mask {path} ({seg.dtype}) has invalid class id(s) {listed}{more}; valid: '
                     f'{valid} or {SEG_IGNORE_INDEX} (ignore). Fix the mask, or remap its taxonomy with '
                     f'SegDataset(label_map=...)')


@TRANSFORMS.register_module()
class LoadDenseAnnotations(BaseTransform):
    """Load the targets of one dense task into ``results``. Target shapes must equal the image's original shape
    (error naming the sample otherwise).

    Required Keys:

        - ori_shape (or img, whose shape is used instead)
        - seg_map_path, label_map (optional), num_classes (optional): ``task='seg'``
        - normal_path (``.npy`` H×W×3, or an RGB image mapped by v / 127.5 − 1): ``task='normal'``
        - depth_path (``.npy`` H×W metric Z), cam_K_path (3×3 text): ``task='pointmap'``
        - albedo_path (RGB image): ``task='albedo'``
        - mask_path (optional, regression tasks; None or absent: every pixel valid)
        - img_path (optional, named in errors)

    Added Keys:

        - gt_seg_map (seg): H×W uint8, ``label_map`` applied (unmapped ids -> 255); every id must be
          < ``num_classes`` (set by :class:`SegDataset` from its metainfo ``classes``) or 255, else an error naming
          the mask, the bad ids and the valid range (:func:`check_seg_ids`)
        - gt_normal (normal): H×W×3 float32
        - gt_depth, cam_K (pointmap): H×W float32, 3×3 float64
        - gt_albedo (albedo): H×W×3 float32 RGB in [0, 1]
        - gt_mask (regression tasks): H×W uint8 0/1 (mask file > 0, finite target, depth > 0)
        - num_invalid_target_pixels (regression tasks): non-finite target pixels (set to 0 and masked out)

    Modified Keys:

        - dense_fields: the list of target keys the geometric transforms move along with the image (created when
          absent; the keys added above are appended)
    """

    def __init__(self, task: str):
        if task not in ('seg', 'normal', 'pointmap', 'albedo'):
            raise ValueError(f"task must be 'seg', 'normal', 'pointmap' or 'albedo', got {task!r}")
        self.task = task

    def _check_shape(self, results: dict, key: str, arr: np.ndarray, path: str) -> None:
        ref = tuple(results.get('ori_shape') or results['img'].shape[:2])[:2]
        if tuple(arr.shape[:2]) != ref:
            raise ValueError(f'sample {results.get("img_path")}: {key} {path} has shape {arr.shape[:2]}, '
                             f'the image has {ref}')

    def _load_seg(self, results: dict) -> None:
        path = results['seg_map_path']
        seg = _read(path)
        if seg.ndim != 2:
            raise ValueError(f'segmentation mask {path} must be a single-channel PNG of class ids, got {seg.shape}')
        if seg.dtype.kind not in 'ui':
            raise ValueError(f'segmentation mask {path} must hold integer class ids (8- or 16-bit PNG), '
                             f'got {seg.dtype}')
        label_map = results.get('label_map')
        if label_map:
            # source ids not in the map (any bit depth) become 255 (ignore)
            lut = np.full(max(256, int(seg.max()) + 1, *(int(k) + 1 for k in label_map)), SEG_IGNORE_INDEX, np.uint8)
            for src, dst in label_map.items():
                lut[int(src)] = dst
            seg = lut[seg]
        check_seg_ids(seg, path, results.get('num_classes'))
        self._check_shape(results, 'seg map', seg, path)
        results['gt_seg_map'] = seg.astype(np.uint8)
        add_dense_field(results, 'gt_seg_map')

    def transform(self, results: dict) -> Optional[dict]:
        if self.task == 'seg':
            self._load_seg(results)
            return results
        if self.task == 'normal':
            path = results['normal_path']
            if path.endswith('.npy'):
                target = np.load(path).astype(np.float32)
            else:
                target = cv2.cvtColor(_read(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32)
                target = target / 127.5 - 1.0
            if target.ndim != 3 or target.shape[2] != 3:
                raise ValueError(f'sample {results.get("img_path")}: normal {path} must be H×W×3, got {target.shape}')
            key = 'gt_normal'
        elif self.task == 'albedo':
            path = results['albedo_path']
            target = cv2.cvtColor(_read(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
            key = 'gt_albedo'
        else:
            path = results['depth_path']
            target = np.load(path).astype(np.float32)
            if target.ndim == 3 and target.shape[2] == 1:
                target = target[..., 0]
            if target.ndim != 2:
                raise ValueError(f'sample {results.get("img_path")}: depth {path} must be H×W, got {target.shape}')
            K = np.loadtxt(results['cam_K_path'], dtype=np.float64)
            if K.shape != (3, 3):
                raise ValueError(f'camera intrinsics {results["cam_K_path"]} must be a 3×3 matrix, got {K.shape}')
            results['cam_K'] = K
            key = 'gt_depth'
        self._check_shape(results, key, target, path)

        mask_path = results.get('mask_path')
        if mask_path:
            mask = _read(mask_path, cv2.IMREAD_GRAYSCALE)
            self._check_shape(results, 'mask', mask, mask_path)
            mask = (mask > 0).astype(np.uint8)
        else:
            mask = np.ones(target.shape[:2], np.uint8)
        finite = np.isfinite(target) if target.ndim == 2 else np.isfinite(target).all(-1)
        results['num_invalid_target_pixels'] = int((~finite).sum())
        target[~finite] = 0
        if key == 'gt_depth':
            finite &= target > 0
        mask &= finite.astype(np.uint8)
        results[key], results['gt_mask'] = target, mask
        add_dense_field(results, key)
        add_dense_field(results, 'gt_mask')
        return results

    def __repr__(self):
        return f'{type(self).__name__}(task={self.task!r})'
