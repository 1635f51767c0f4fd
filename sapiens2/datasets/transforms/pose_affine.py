"""Top-down crop of the pose pipelines with the released demo's interpolation.

mmpose's ``TopdownAffine`` always warps with bilinear interpolation. The released Sapiens2 pose pipeline chooses the
interpolation from the scale of the crop: area averaging when the box is shrunk into the 1024×768 input (no
aliasing on large photos), bicubic when it is enlarged (the common case on COCO-sized photos). The keypoints of a
model depend on this choice by up to pixels, so our pose configs crop with :class:`AutoInterpTopdownAffine`.
"""
from typing import Dict, Optional

import cv2
import numpy as np
from mmpose.datasets.transforms import TopdownAffine
from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix

from sapiens2.registry import TRANSFORMS

_CV2_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR, bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


def auto_interpolation(warp_mat: np.ndarray) -> int:
    """cv2 flag for a 2×3 warp: ``INTER_AREA`` when it shrinks (the smaller of the two row norms of the linear part,
    i.e. output pixels per input pixel, is below 1), ``INTER_CUBIC`` otherwise."""
    scale = min(np.linalg.norm(warp_mat[0, :2]), np.linalg.norm(warp_mat[1, :2]))
    return cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC


@TRANSFORMS.register_module()
class AutoInterpTopdownAffine(TopdownAffine):
    """mmpose ``TopdownAffine`` (same box handling, warp matrix, keypoints and metadata) with a choice of the image
    interpolation.

    Required Keys:

        - img
        - bbox_center
        - bbox_scale
        - bbox_rotation (optional)
        - keypoints (optional)

    Modified Keys:

        - img
        - bbox_scale (fixed to the aspect ratio of ``input_size``)

    Added Keys:

        - input_size
        - input_center
        - input_scale
        - transformed_keypoints
        - keypoints_visible (all ones, when the sample has no keypoints)

    Args:
        input_size (tuple): (w, h) of the crop.
        use_udp (bool): UDP warp matrix (as mmpose).
        interpolation (str): ``'auto'`` (default: area when the crop shrinks the image, bicubic when it enlarges it,
            as the released pipeline) or a fixed ``'bilinear'`` (= mmpose), ``'bicubic'``, ``'area'``, ``'nearest'``.
    """

    def __init__(self, input_size, use_udp: bool = False, interpolation: str = 'auto') -> None:
        super().__init__(input_size=input_size, use_udp=use_udp)
        if interpolation != 'auto' and interpolation not in _CV2_INTERP:
            raise ValueError(f"interpolation must be 'auto' or one of {sorted(_CV2_INTERP)}, got {interpolation!r}")
        self.interpolation = interpolation

    def transform(self, results: Dict) -> Optional[dict]:
        if self.interpolation == 'bilinear':
            return super().transform(results)
        # mmpose fixes the box aspect ratio, transforms the keypoints and records input_center / input_scale; it warps
        # a 1-pixel stand-in, the real image is warped below with the same matrix and our interpolation.
        img = results['img']
        stand_in = lambda a: np.zeros((1, 1) + a.shape[2:], a.dtype)  # noqa: E731
        results['img'] = [stand_in(a) for a in img] if isinstance(img, list) else stand_in(img)
        results = super().transform(results)
        rot = float(results['bbox_rotation'][0]) if 'bbox_rotation' in results else 0.
        w, h = self.input_size
        make = get_udp_warp_matrix if self.use_udp else get_warp_matrix
        warp_mat = make(results['input_center'], results['input_scale'], rot, output_size=(w, h))
        flags = auto_interpolation(warp_mat) if self.interpolation == 'auto' else _CV2_INTERP[self.interpolation]
        warp = lambda a: cv2.warpAffine(a, warp_mat, (int(w), int(h)), flags=flags)  # noqa: E731
        results['img'] = [warp(a) for a in img] if isinstance(img, list) else warp(img)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, use_udp={self.use_udp}, '
                f'interpolation={self.interpolation!r})')
