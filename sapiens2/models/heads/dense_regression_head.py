"""Shared body of the pixel-regression heads (normal, pointmap, albedo; docs/architecture.md §2.3).

``input_conv`` (3×3 conv, norm, SiLU) -> 4 × ``upsample_blocks`` (3×3 conv to 4·out, PixelShuffle(2), norm, SiLU)
-> ``conv_layers`` (3×3 conv, norm, SiLU per entry) -> a final 1×1 conv to ``out_channels`` named by the subclass.

The head computes its own losses (:meth:`DenseRegressionHead.loss`: the prediction resized to the target
``gt_<task>`` and compared on the ``gt_mask`` pixels) and its test-time prediction (:meth:`DenseRegressionHead.predict`,
at the network resolution); ``DenseEstimator`` maps that back to the image.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from ..losses.loss_list import build_losses, sum_losses
from .conv_stacks import build_conv_layers, instance_norm
from .resize import resize_like


def build_upsample_blocks(in_channels: int, out_channels: Sequence[int],
                          norm: Callable[[int], nn.Module]) -> nn.ModuleList:
    """One (Conv2d(cur, 4·out, 3), PixelShuffle(2), norm, SiLU) block per entry: each doubles H and W."""
    blocks = nn.ModuleList()
    for out in out_channels:
        blocks.append(nn.Sequential(nn.Conv2d(in_channels, 4 * out, 3, padding=1, bias=True), nn.PixelShuffle(2),
                                    norm(out), nn.SiLU(inplace=True)))
        in_channels = out
    return blocks


class DenseRegressionHead(BaseModule):
    """Base of :class:`NormalHead`, :class:`PointmapHead`, :class:`AlbedoHead`.

    Args:
        in_channels (int): backbone channels C.
        upsample_channels (Sequence[int]): output channels of the PixelShuffle blocks (4 blocks = 16×).
        conv_out_channels / conv_kernel_sizes: the conv stack after upsampling.
        out_channels (int): channels of the final 1×1 conv (3).
        loss_decode (dict | list[dict], optional): loss configs, built into ``self.loss_decode``.

    forward: featmap [B, C, h, w] -> [B, out_channels, h·2^n, w·2^n] (no output activation).
    """
    final_layer_name = 'conv_out'
    task: Optional[str] = None  # the subclass's target: data samples carry ``gt_<task>`` (and optionally ``gt_mask``)
    norm_layer: Callable[[int], nn.Module] = staticmethod(instance_norm)

    def __init__(self, in_channels: int, upsample_channels: Sequence[int], conv_out_channels: Sequence[int],
                 conv_kernel_sizes: Sequence[int], out_channels: int = 3, loss_decode=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        norm = self.norm_layer
        self.input_conv = nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1, bias=True),
                                        norm(in_channels), nn.SiLU(inplace=True))
        self.upsample_blocks = build_upsample_blocks(in_channels, upsample_channels, norm)
        last = upsample_channels[-1] if len(upsample_channels) else in_channels
        for k in conv_kernel_sizes:
            if k % 2 != 1:
                raise ValueError(f'conv_kernel_sizes must be odd, got {list(conv_kernel_sizes)}')
        self.conv_layers = build_conv_layers(last, conv_out_channels, conv_kernel_sizes, norm=norm)
        setattr(self, self.final_layer_name, nn.Conv2d(self.conv_layers.out_channels, out_channels, 1))
        self.loss_decode = build_losses(loss_decode)  # parameter-free: no state-dict keys

    def forward_dense(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_conv(x)
        for block in self.upsample_blocks:
            x = block(x)
        return getattr(self, self.final_layer_name)(self.conv_layers(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_dense(x)

    def targets(self, data_samples: Sequence, device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Data samples -> (``gt_<task>`` [B, 3, H, W] float, ``gt_mask`` [B, 1, H, W]; all ones when absent)."""
        if self.task is None:
            raise NotImplementedError(f'{type(self).__name__}: set the class attribute `task` (the gt_<task> target)')
        gt = torch.stack([getattr(ds, f'gt_{self.task}').data for ds in data_samples]).float().to(device)
        masks = [ds.gt_mask.data if 'gt_mask' in ds else torch.ones_like(gt[0, :1]) for ds in data_samples]
        return gt, torch.stack(masks).to(device)

    def pixel_loss_calls(self, pred: torch.Tensor, data_samples: Sequence, losses: Sequence[nn.Module]) -> List:
        """(loss, (pred resized to the target, target, mask)) for each of ``losses`` (see :func:`sum_losses`)."""
        gt, mask = self.targets(data_samples, pred.device)
        pred = resize_like(pred, gt.shape[-2:])
        return [(m, (pred, gt, mask)) for m in losses]

    def loss(self, feats: torch.Tensor, data_samples: Sequence, train_cfg: Optional[dict] = None) -> dict:
        """featmap [B, C, h, w] and data samples with ``gt_<task>`` / ``gt_mask`` -> ``{loss_name: loss}``."""
        calls = self.pixel_loss_calls(self.forward(feats), data_samples, self.loss_decode)
        return sum_losses(calls, type(self).__name__)

    def predict(self, feats: torch.Tensor, data_samples: Optional[Sequence] = None, test_cfg: Optional[dict] = None):
        """featmap [B, C, h, w] -> the prediction at the network resolution (as :meth:`forward`)."""
        return self.forward(feats)
