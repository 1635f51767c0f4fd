"""Matting model: ``backbone`` + :class:`MattingHead` (released layout, 4 sigmoid outputs).

Training: ``decode_head.loss(featmap, data_samples)``. Prediction: the outputs are mapped back to the original image
with the exact inverse of the test resize (:func:`invert_test_resize`) and stored as ``pred_alpha`` (PixelData
[1, H, W] in [0, 1]) and ``pred_foreground`` (PixelData [3, H, W], pre-multiplied RGB in [0, 1]).
"""
from typing import List

import torch
from mmengine.structures import PixelData

from sapiens2.registry import MODELS
from ..heads.resize import resize_like
from .base_estimator import BaseEstimator
from .dense_estimator import invert_test_resize


@MODELS.register_module()
class MattingEstimator(BaseEstimator):
    """Alpha matting; ``task`` is 'matting' (read by the dense demo). :meth:`loss` is the base class's
    ``decode_head.loss(featmap, data_samples, train_cfg)`` (:meth:`MattingHead.loss`)."""

    task = 'matting'

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        out = self.decode_head.predict(self.extract_feat(inputs), data_samples, self.test_cfg)
        out = resize_like(out, inputs.shape[-2:])
        for ds, o in zip(data_samples, out):
            o = invert_test_resize(o, ds.metainfo).clamp(0, 1)
            ds.pred_alpha = PixelData(data=o[3:])
            ds.pred_foreground = PixelData(data=o[:3])
        return data_samples
