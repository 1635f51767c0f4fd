"""Geometric transforms of the dense tasks, applied jointly to the image and every field in
``results['dense_fields']`` (see ``LoadDenseAnnotations``), keeping targets physically consistent:

* labels / masks / depth use nearest interpolation, normals and albedo bilinear (normals re-normalised);
* horizontal flip swaps left/right seg labels (mmcv ``RandomFlip(swap_seg_labels=...)``), negates normal x and sets
  cx' = W − 1 − cx (the pointmap, computed at packing from depth and K, is then mirrored: X' = −X);
* scale / shift / in-plane rotation update K (f' = s·f, c' = M·c) and rotate the normals' (x, y) by the same angle;
  rotation is about the principal point when K is known (exact for fx = fy), else about the image centre;
* the letterbox resize records ``pad_param`` (top, bottom, left, right) and ``letterbox_scale`` so that predictions
  are mapped back exactly (the estimators' ``invert_test_resize``); ``size_rounding='floor'`` truncates the resized
  size as the released demos' test resize does (training resizes round, as the released training resize);
* ``AutoInterpResize`` is mmcv's ``Resize`` with the released segmentation resize's image interpolation (area when
  the width shrinks, bicubic otherwise).
"""
import math
from typing import Sequence, Tuple

import cv2
import numpy as np
import mmcv
from mmcv.transforms import BaseTransform, RandomFlip, Resize
from mmcv.transforms.utils import cache_randomness

from sapiens2.image_geometry import letterbox_params
from sapiens2.registry import TRANSFORMS
from .dense_loading import DENSE_FIELD_KINDS

_INTERP = dict(label=cv2.INTER_NEAREST, mask=cv2.INTER_NEAREST, depth=cv2.INTER_NEAREST, normal=cv2.INTER_LINEAR,
               linear=cv2.INTER_LINEAR)
_FILL = dict(label=255, mask=0, depth=0, normal=0, linear=0)


def _kind(key: str) -> str:
    return DENSE_FIELD_KINDS.get(key, 'linear')


def _renormalise(normal: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    return np.where(norm > 1e-6, normal / np.maximum(norm, 1e-6), 0).astype(np.float32)


def warp_dense(results: dict, M: np.ndarray, out_hw: Tuple[int, int], img_border=0) -> None:
    """Apply the 2×3 pixel affine ``M`` (cv2 convention, integer pixel centres) to the image and dense fields and
    update ``cam_K``; normals' (x, y) are rotated by M's rotation part."""
    h, w = out_hw
    results['img'] = cv2.warpAffine(results['img'], M, (w, h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=img_border)
    A = M[:, :2]
    scale = math.sqrt(abs(np.linalg.det(A)))
    R = A / scale
    for key in results.get('dense_fields', []):
        kind = _kind(key)
        out = cv2.warpAffine(results[key], M, (w, h), flags=_INTERP[kind], borderMode=cv2.BORDER_CONSTANT,
                             borderValue=_FILL[kind])
        if kind == 'normal':
            out = out.copy()
            out[..., :2] = out[..., :2] @ R.T
            out = _renormalise(out)
        results[key] = out
    if 'cam_K' in results:
        K = results['cam_K'].copy()
        K[0, 0], K[1, 1] = K[0, 0] * scale, K[1, 1] * scale
        K[:2, 2] = A @ K[:2, 2] + M[:, 2]
        results['cam_K'] = K
    results['img_shape'] = (h, w)


@TRANSFORMS.register_module()
class DenseRandomAffine(BaseTransform):
    """Random scale, shift and in-plane rotation (output size = input size), jointly for image and targets.
    Samples with intrinsics where fx ≠ fy are not rotated (the rotation would not be a camera roll).

    Required Keys:

        - img
        - dense_fields (optional) and every key it lists
        - cam_K (optional)

    Modified Keys (when applied, with probability ``prob``):

        - img
        - every key in dense_fields
        - cam_K
        - img_shape

    Args:
        scale_range (tuple): uniform scale factor range.
        max_shift (float): max shift as a fraction of the image size.
        max_rotation (float): max |angle| in degrees (0 disables rotation).
        prob (float): probability of applying the transform.
    """

    def __init__(self, scale_range: Sequence[float] = (0.75, 1.25), max_shift: float = 0.1,
                 max_rotation: float = 0.0, prob: float = 1.0):
        self.scale_range, self.max_shift, self.max_rotation, self.prob = scale_range, max_shift, max_rotation, prob

    @cache_randomness
    def _sample(self):
        if np.random.rand() >= self.prob:
            return None
        s = np.random.uniform(*self.scale_range)
        angle = np.random.uniform(-self.max_rotation, self.max_rotation) if self.max_rotation else 0.0
        shift = np.random.uniform(-self.max_shift, self.max_shift, 2)
        return s, angle, shift

    def transform(self, results: dict) -> dict:
        params = self._sample()
        if params is None:
            return results
        s, angle, shift = params
        h, w = results['img'].shape[:2]
        K = results.get('cam_K')
        if K is not None and abs(K[0, 0] - K[1, 1]) > 1e-3 * K[0, 0]:
            angle = 0.0  # an in-plane rotation is a camera roll only when fx = fy: keep such samples unrotated
        centre = tuple(results['cam_K'][:2, 2]) if 'cam_K' in results else ((w - 1) / 2, (h - 1) / 2)
        M = cv2.getRotationMatrix2D(centre, angle, s)
        M[:, 2] += shift * (w, h)
        warp_dense(results, M, (h, w))
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(scale_range={self.scale_range}, max_shift={self.max_shift}, '
                f'max_rotation={self.max_rotation}, prob={self.prob})')


@TRANSFORMS.register_module()
class DenseRandomFlip(RandomFlip):
    """mmcv ``RandomFlip`` (image, ``gt_seg_map`` with ``swap_seg_labels``) extended to the dense fields:
    horizontal only; normals get x negated, ``cam_K`` gets cx' = W − 1 − cx.

    Required Keys:

        - img
        - dense_fields (optional) and every key it lists (``gt_seg_map`` among them)
        - cam_K (optional)

    Modified Keys (when flipped):

        - img
        - every key in dense_fields
        - cam_K

    Added Keys:

        - flip
        - flip_direction
        - swap_seg_labels (when flipped with a ``gt_seg_map``)

    Args: as mmcv ``RandomFlip`` (``direction`` must be ``'horizontal'``).
    """

    def _flip(self, results: dict) -> None:
        if results['flip_direction'] != 'horizontal':
            raise ValueError(f'DenseRandomFlip supports horizontal flips only, got {results["flip_direction"]!r}')
        super()._flip(results)
        for key in results.get('dense_fields', []):
            if key == 'gt_seg_map':
                continue  # flipped (and labels swapped) by RandomFlip
            out = np.ascontiguousarray(results[key][:, ::-1])
            if _kind(key) == 'normal':
                out[..., 0] = -out[..., 0]
            results[key] = out
        if 'cam_K' in results:
            K = results['cam_K'].copy()
            K[0, 2] = results['img'].shape[1] - 1 - K[0, 2]
            results['cam_K'] = K


@TRANSFORMS.register_module()
class LetterboxResize(BaseTransform):
    """Aspect-preserving resize into ``scale`` = (W, H) with centred constant padding. With ``resize_targets`` the
    dense fields and ``cam_K`` follow (training); without it only the image is resized (testing: targets stay at the
    original size, predictions are mapped back by the estimators' ``invert_test_resize``).

    Required Keys:

        - img
        - dense_fields (optional) and every key it lists (read with ``resize_targets``)
        - cam_K (optional, read with ``resize_targets``)

    Modified Keys:

        - img
        - img_shape: (H, W)
        - every key in dense_fields, cam_K (with ``resize_targets``)

    Added Keys:

        - pad_param: (top, bottom, left, right)
        - letterbox_scale: new_w / w
        - scale_factor: (new_w / w, new_h / h)

    Args:
        scale (tuple): (W, H) of the output.
        pad_val (int): image padding value (targets are padded with their kind's fill: 255 labels, 0 otherwise).
        resize_targets (bool): resize and pad the dense fields and ``cam_K`` too.
        interpolation (str): of the image, ``'bilinear'``, ``'nearest'``, ``'area'`` or ``'bicubic'``.
        size_rounding (str): ``'round'`` (training, the released training resize) or ``'floor'`` (the test
            pipelines: the released demos' ``int()``); see :func:`sapiens2.image_geometry.letterbox_params`.
    """

    def __init__(self, scale: Tuple[int, int] = (768, 1024), pad_val: int = 0, resize_targets: bool = True,
                 interpolation: str = 'bilinear', size_rounding: str = 'round'):
        self.scale, self.pad_val, self.resize_targets = tuple(scale), pad_val, resize_targets
        self.interpolation = dict(bilinear=cv2.INTER_LINEAR, nearest=cv2.INTER_NEAREST, area=cv2.INTER_AREA,
                                  bicubic=cv2.INTER_CUBIC)[interpolation]
        letterbox_params((1, 1), (1, 1), size_rounding)  # validates the name
        self.size_rounding = size_rounding

    @staticmethod
    def _fit(arr, new_hw, pad, interp, fill):
        out = cv2.resize(arr, (new_hw[1], new_hw[0]), interpolation=interp)
        if out.ndim < arr.ndim:
            out = out[..., None]
        top, bottom, left, right = pad
        widths = ((top, bottom), (left, right)) + ((0, 0), ) * (out.ndim - 2)
        return np.pad(out, widths, constant_values=fill)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        W, H = self.scale
        new_hw, pad = letterbox_params((h, w), (H, W), self.size_rounding)
        results['img'] = self._fit(results['img'], new_hw, pad, self.interpolation, self.pad_val)
        sx, sy = new_hw[1] / w, new_hw[0] / h
        if self.resize_targets:
            for key in results.get('dense_fields', []):
                kind = _kind(key)
                out = self._fit(results[key], new_hw, pad, _INTERP[kind], _FILL[kind])
                results[key] = _renormalise(out) if kind == 'normal' else out
            if 'cam_K' in results:
                K = results['cam_K'].copy()
                K[0] *= sx
                K[1] *= sy
                K[0, 2] = (results['cam_K'][0, 2] + 0.5) * sx - 0.5 + pad[2]
                K[1, 2] = (results['cam_K'][1, 2] + 0.5) * sy - 0.5 + pad[0]
                results['cam_K'] = K
        results.update(img_shape=(H, W), pad_param=pad, letterbox_scale=sx, scale_factor=(sx, sy))
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(scale={self.scale}, resize_targets={self.resize_targets}, '
                f'size_rounding={self.size_rounding!r})')


@TRANSFORMS.register_module()
class AutoInterpResize(Resize):
    """mmcv ``Resize`` (same arguments, sizes, label and box handling) whose image interpolation is chosen per image:
    ``shrink_interpolation`` (default ``'area'``) when the resized image is narrower than the input, else
    ``enlarge_interpolation`` (default ``'bicubic'``). This is the released segmentation resize's rule; like it, the
    choice looks at the width only (a stretch to 768×1024 of a 1000×600 photo shrinks the width: area).
    Segmentation labels keep mmcv's nearest interpolation.

    Required Keys:

        - img
        - gt_bboxes (optional)
        - gt_seg_map (optional)
        - gt_keypoints (optional)

    Modified Keys:

        - img
        - gt_bboxes
        - gt_seg_map
        - gt_keypoints
        - img_shape

    Added Keys:

        - scale
        - scale_factor
        - keep_ratio
    """

    def __init__(self, *args, shrink_interpolation: str = 'area', enlarge_interpolation: str = 'bicubic', **kwargs):
        super().__init__(*args, **kwargs)
        self.shrink_interpolation, self.enlarge_interpolation = shrink_interpolation, enlarge_interpolation

    def _resize_img(self, results: dict) -> None:
        if results.get('img', None) is None:
            return super()._resize_img(results)
        h, w = results['img'].shape[:2]
        new_w = mmcv.rescale_size((w, h), results['scale'])[0] if self.keep_ratio else results['scale'][0]
        fixed = self.interpolation
        self.interpolation = self.shrink_interpolation if new_w < w else self.enlarge_interpolation
        try:
            super()._resize_img(results)
        finally:
            self.interpolation = fixed

    def __repr__(self):
        return (super().__repr__()[:-1] + f', shrink_interpolation={self.shrink_interpolation!r}, '
                f'enlarge_interpolation={self.enlarge_interpolation!r})')

