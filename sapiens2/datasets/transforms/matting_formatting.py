"""Packing of matting samples into model inputs and data samples."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement, PixelData

from sapiens2.registry import TRANSFORMS
from .dense_formatting import DEFAULT_META_KEYS, _meta, image_to_tensor


@TRANSFORMS.register_module()
class PackMattingInputs(BaseTransform):
    """-> dict(inputs [3, H, W] uint8 (BGR, as loaded), data_samples ``BaseDataElement`` with ``gt_alpha``
    [1, H, W] float32, ``gt_foreground`` [3, H, W] float32 RGB (when loaded), ``gt_trimap`` [1, H, W] uint8 (when
    loaded) and, when the image and the alpha have the same size (training), ``gt_image`` [3, H, W] uint8 RGB for the
    composition loss)."""

    def __init__(self, meta_keys=DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = BaseDataElement()
        img = results['img']
        alpha = results.get('gt_alpha')
        if alpha is not None:
            sample.gt_alpha = PixelData(data=image_to_tensor(alpha.astype(np.float32)))
            if 'gt_foreground' in results:
                sample.gt_foreground = PixelData(data=image_to_tensor(results['gt_foreground']).float())
            if tuple(alpha.shape[:2]) == tuple(img.shape[:2]):
                sample.gt_image = PixelData(data=image_to_tensor(img[..., ::-1]))
        if 'gt_trimap' in results:
            sample.gt_trimap = PixelData(data=torch.from_numpy(results['gt_trimap'][None].copy()))
        sample.set_metainfo(_meta(results, self.meta_keys))
        return dict(inputs=image_to_tensor(img), data_samples=sample)
