"""Pointmap head with a scale branch (docs/architecture.md §2.3): canonical pointmap + focal scale 768 / fx."""
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from sapiens2.registry import MODELS
from ..losses.loss_list import sum_losses
from ..losses.regression_losses import ScaleL1Loss
from .conv_stacks import build_conv_layers
from .dense_regression_head import DenseRegressionHead


@MODELS.register_module()
class PointmapHead(DenseRegressionHead):
    """Dense branch as :class:`DenseRegressionHead` (``conv_pointmap``) plus a global scale branch.

    Args:
        scale_conv_out_channels / scale_conv_kernel_sizes: stride-2 conv stack on the featmap (released
            (1536, 512, 128), k=1).
        scale_final_layer (Sequence[int]): MLP widths incl. input and output, e.g. (6144, 512, 128, 1); the input must
            equal last scale channels × (h/8)·(w/8) (6144 = 128 · 8·6 for a 64×48 featmap).

    forward: featmap [B, C, h, w] -> (pointmap [B, 3, 16h, 16w], scale [B, 1]); metric pointmap = pointmap / scale.
    ``loss``: the ``ScaleL1Loss`` entries of ``loss_decode`` take (scale [B, 1], metainfo ``gt_scale`` [B]), the
    others (pointmap, ``gt_pointmap``, ``gt_mask``).
    """
    final_layer_name = 'conv_pointmap'
    task = 'pointmap'

    def __init__(self, in_channels: int, upsample_channels: Sequence[int], conv_out_channels: Sequence[int],
                 conv_kernel_sizes: Sequence[int], scale_conv_out_channels: Sequence[int] = (1536, 512, 128),
                 scale_conv_kernel_sizes: Sequence[int] = (1, 1, 1),
                 scale_final_layer: Sequence[int] = (6144, 512, 128, 1), **kwargs):
        super().__init__(in_channels, upsample_channels, conv_out_channels, conv_kernel_sizes, **kwargs)
        self.scale_conv_layers = build_conv_layers(in_channels, scale_conv_out_channels, scale_conv_kernel_sizes,
                                                   stride=2)
        layers = [nn.Flatten()]
        for i, (cin, cout) in enumerate(zip(scale_final_layer[:-1], scale_final_layer[1:])):
            layers.append(nn.Linear(cin, cout))
            if i < len(scale_final_layer) - 2:
                layers.append(nn.SiLU(inplace=True))
        self.scale_final_layer = nn.Sequential(*layers)
        self.scale_in_features = scale_final_layer[0]

    def forward_scale(self, x: torch.Tensor) -> torch.Tensor:
        """featmap [B, C, h, w] -> scale [B, 1]."""
        feat = self.scale_conv_layers(x)
        if feat[0].numel() != self.scale_in_features:
            raise ValueError(f'PointmapHead: scale branch gives {tuple(feat.shape[1:])} = {feat[0].numel()} features '
                             f'for featmap {tuple(x.shape)}, but scale_final_layer[0] = {self.scale_in_features}')
        return self.scale_final_layer(feat)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.forward_dense(x), self.forward_scale(x)

    def loss(self, feats: torch.Tensor, data_samples: Sequence, train_cfg: Optional[dict] = None) -> dict:
        pointmap, scale = self.forward(feats)
        gt_scale = scale.new_tensor([float(ds.metainfo.get('gt_scale', float('nan'))) for ds in data_samples])
        pixel = [m for m in self.loss_decode if not isinstance(m, ScaleL1Loss)]
        calls = self.pixel_loss_calls(pointmap, data_samples, pixel)
        calls += [(m, (scale, gt_scale)) for m in self.loss_decode if isinstance(m, ScaleL1Loss)]
        return sum_losses(calls, type(self).__name__)
