"""Shared body of the released deconvolution heads (pose heatmaps, body-part segmentation; docs/architecture.md §2.1,
§2.2): ``deconv_layers`` (stride-2 transposed convs, norm, SiLU) -> ``conv_layers`` (convs, norm, SiLU) -> a final
1×1 conv to ``out_channels`` named by the subclass (``conv_pose`` / ``conv_seg``)."""
from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from ..losses.loss_list import build_losses
from .conv_stacks import build_conv_layers, build_deconv_layers


class DeconvHead(BaseModule):
    """Base of :class:`PoseHeatmapHead` and :class:`SegHead`.

    Args:
        in_channels (int): backbone channels C.
        out_channels (int): channels of the final 1×1 conv (keypoints / classes).
        deconv_out_channels / deconv_kernel_sizes: stride-2 deconvs (each doubles H and W).
        conv_out_channels / conv_kernel_sizes: the conv stack after the deconvs.
        loss_decode (dict | list[dict], optional): loss configs, built into ``self.loss_decode`` (no parameters).

    forward: featmap [B, C, h, w] -> [B, out_channels, h·2^n, w·2^n] (no output activation).
    """
    final_layer_name = 'conv_out'

    def __init__(self, in_channels: int, out_channels: int, deconv_out_channels: Sequence[int],
                 deconv_kernel_sizes: Sequence[int], conv_out_channels: Sequence[int],
                 conv_kernel_sizes: Sequence[int], loss_decode=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.deconv_layers = build_deconv_layers(in_channels, deconv_out_channels, deconv_kernel_sizes)
        self.conv_layers = build_conv_layers(self.deconv_layers.out_channels, conv_out_channels, conv_kernel_sizes)
        setattr(self, self.final_layer_name, nn.Conv2d(self.conv_layers.out_channels, out_channels, 1))
        self.loss_decode = build_losses(loss_decode)  # parameter-free: no state-dict keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.final_layer_name)(self.conv_layers(self.deconv_layers(x)))
