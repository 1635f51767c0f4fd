"""Photometric transforms for the multi-view pretraining pipeline (used inside ``mmpretrain.MultiView``).

Imported lazily by ``sapiens2.datasets.transforms`` (on first use of ``ColorJitterNp2`` / ``adjust_hue``): importing
this module imports mmpretrain, which inference does not need."""
import cv2
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter

from sapiens2.registry import TRANSFORMS


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image by ``hue_factor`` turns (in [-0.5, 0.5]); numpy-2 safe version of
    ``mmcv.adjust_hue`` (which overflows on negative factors)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    shift = int(round(hue_factor * 255)) % 256
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 256).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


@TRANSFORMS.register_module(force=True)  # replaces the lazy stand-in registered by the package's __init__
class ColorJitterNp2(ColorJitter):
    """:class:`mmpretrain.datasets.transforms.ColorJitter` (same arguments, same random order) with the hue step
    done by :func:`adjust_hue`, so negative hue factors work with numpy 2.

    Required Keys:

        - img (BGR uint8)

    Modified Keys:

        - img
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue)
        results['img'] = img
        return results
