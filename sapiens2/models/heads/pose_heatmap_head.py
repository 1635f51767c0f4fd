"""Top-down pose heatmap head (docs/architecture.md §2.1): deconv stack -> 1×1 conv stack -> ``conv_pose`` heatmaps."""
from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from sapiens2.registry import MODELS
from ..losses.loss_list import build_losses
from .conv_stacks import build_conv_layers, build_deconv_layers


@MODELS.register_module()
class PoseHeatmapHead(BaseModule):
    """Released layout: ``deconv_layers.{0,3}``, ``conv_layers.{0,3,6}``, ``conv_pose``.

    Args:
        in_channels (int): backbone channels C.
        out_channels (int): number of keypoints K (308).
        deconv_out_channels / deconv_kernel_sizes: stride-2 deconvs (released two, k=4: 4×, 64×48 -> 256×192).
        conv_out_channels / conv_kernel_sizes: convs after the deconvs (released k=1).
        loss_decode (dict | list[dict], optional): heatmap losses (``KeypointMSELoss`` / ``KeypointOHKMMSELoss``),
            called as ``loss(pred [B, K, h, w], target [B, K, h, w], target_weight [B, K])``.

    forward: featmap [B, C, h, w] -> heatmaps [B, K, h·2^n, w·2^n] (no output activation).
    """

    def __init__(self, in_channels: int, out_channels: int = 308,
                 deconv_out_channels: Sequence[int] = (1024, 768), deconv_kernel_sizes: Sequence[int] = (4, 4),
                 conv_out_channels: Sequence[int] = (512, 512, 256), conv_kernel_sizes: Sequence[int] = (1, 1, 1),
                 loss_decode=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        self.deconv_layers = build_deconv_layers(in_channels, deconv_out_channels, deconv_kernel_sizes)
        self.conv_layers = build_conv_layers(self.deconv_layers.out_channels, conv_out_channels, conv_kernel_sizes)
        self.conv_pose = nn.Conv2d(self.conv_layers.out_channels, out_channels, 1)
        self.loss_decode = build_losses(loss_decode)  # parameter-free: no state-dict keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_pose(self.conv_layers(self.deconv_layers(x)))
