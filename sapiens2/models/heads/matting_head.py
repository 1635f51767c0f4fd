"""Matting head (the released ``MattingHead``; transformers' ``Sapiens2ForImageMatting``): the pixel-regression body
of :class:`DenseRegressionHead` (InstanceNorm) with output layer ``conv_matting`` (4 channels) and a sigmoid.

Output channels: 0-2 the pre-multiplied foreground α·F (RGB in [0, 1]), 3 the alpha matte α in [0, 1].
"""
from typing import List, Optional

import torch
from mmengine.structures import BaseDataElement

from sapiens2.registry import MODELS
from ..losses.loss_list import sum_losses
from .dense_regression_head import DenseRegressionHead
from .resize import resize_like


def gather_matting_targets(data_samples: List[BaseDataElement], size, device) -> dict:
    """Targets of a batch (see :class:`PackMattingInputs`) -> dict(
    ``alpha`` [B, 1, H, W] in [0, 1], ``image`` [B, 3, H, W] RGB in [0, 1] (or None when a sample has none),
    ``foreground`` [B, 3, H, W] RGB (not pre-multiplied; zeros for a sample without one),
    ``has_foreground`` bool [B], ``mask`` [B, 1, H, W] valid pixels (ones without ``gt_mask``)).
    Every target must be ``size`` (H, W); an error names the sample otherwise."""
    def field(ds, key):
        t = ds.get(key).data
        if tuple(t.shape[-2:]) != tuple(size):
            raise ValueError(f'MattingHead: sample {ds.metainfo.get("img_path", "?")} {key} is {tuple(t.shape)}, '
                             f'the batch targets are {tuple(size)}')
        return t.to(device)

    for ds in data_samples:
        if 'gt_alpha' not in ds:
            raise KeyError(f'MattingHead: sample {ds.metainfo.get("img_path", "?")} has no gt_alpha (pack it with '
                           'PackMattingInputs)')
    alpha = torch.stack([field(ds, 'gt_alpha').float() for ds in data_samples])
    zeros3 = alpha.new_zeros(3, *size)
    has_fg = torch.tensor(['gt_foreground' in ds for ds in data_samples], device=device)
    foreground = torch.stack([field(ds, 'gt_foreground').float() if 'gt_foreground' in ds else zeros3
                              for ds in data_samples])
    image = None
    if all('gt_image' in ds for ds in data_samples):
        image = torch.stack([field(ds, 'gt_image').float() / 255.0 for ds in data_samples])
    mask = torch.stack([field(ds, 'gt_mask').float() if 'gt_mask' in ds else torch.ones_like(alpha[0])
                        for ds in data_samples])
    return dict(alpha=alpha, image=image, foreground=foreground, has_foreground=has_fg, mask=mask)


@MODELS.register_module()
class MattingHead(DenseRegressionHead):
    """featmap [B, C, h, w] -> sigmoid outputs [B, 4, 16h, 16w]: pre-multiplied foreground (3) + alpha (1).

    ``loss_decode`` entries either take the matting targets (``uses_matting_targets = True``, e.g.
    :class:`CompositionLoss`: ``loss(pred_fg, pred_alpha, targets)``) or are per-pixel losses
    ``loss(pred, target, mask)`` (e.g. :class:`AlphaLoss`, :class:`LaplacianLoss`, ``GradientLoss``) applied to the
    alpha channel.
    """
    final_layer_name = 'conv_matting'
    task = 'matting'

    def __init__(self, *args, out_channels: int = 4, **kwargs):
        if out_channels != 4:
            raise ValueError(f'MattingHead predicts foreground (3) + alpha (1): out_channels must be 4, '
                             f'got {out_channels}')
        super().__init__(*args, out_channels=out_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_dense(x).sigmoid()

    def loss(self, feats: torch.Tensor, data_samples: List[BaseDataElement], train_cfg: Optional[dict] = None) -> dict:
        """feats [B, C, h, w] + data samples (``gt_alpha``, optional ``gt_foreground`` / ``gt_image`` / ``gt_mask``)
        -> {loss_name: value}; the outputs are resized (bilinear) to the targets' size first."""
        if not data_samples:
            raise ValueError('MattingHead.loss: empty batch')
        size = data_samples[0].gt_alpha.data.shape[-2:] if 'gt_alpha' in data_samples[0] else None
        targets = gather_matting_targets(data_samples, size, feats.device)  # names a sample without gt_alpha
        out = resize_like(self.forward(feats), size)
        pred_fg, pred_alpha = out[:, :3], out[:, 3:]
        calls = [(m, (pred_fg, pred_alpha, targets)) if getattr(m, 'uses_matting_targets', False) else
                 (m, (pred_alpha, targets['alpha'], targets['mask'])) for m in self.loss_decode]
        return sum_losses(calls, type(self).__name__)
