"""Body-part segmentation head (docs/architecture.md §2.2): deconv stack -> 1×1 conv stack -> ``conv_seg`` logits.

The head computes its own losses (:meth:`SegHead.loss`, logits resized to the labels) and its test-time logits
(:meth:`SegHead.predict`, at the network resolution); ``SegEstimator`` maps those back to the image.
"""
from typing import Optional, Sequence

import torch

from sapiens2.registry import MODELS
from ..losses.loss_list import sum_losses
from .deconv_head import DeconvHead
from .resize import resize_like


@MODELS.register_module()
class SegHead(DeconvHead):
    """Released layout: ``deconv_layers.{0,3,..}``, ``conv_layers.{0,3,..}``, ``conv_seg``.

    Args:
        in_channels (int): backbone channels C.
        deconv_out_channels / deconv_kernel_sizes: stride-2 deconvs (released (512, 256, 128, 64), k=4: 16×).
        conv_out_channels / conv_kernel_sizes: convs after the deconvs (released (64, 64), k=1).
        num_classes (int): output classes (29).
        loss_decode (dict | list[dict], optional): loss configs, built into ``self.loss_decode``.

    forward: featmap [B, C, h, w] -> logits [B, num_classes, h·2^n, w·2^n].
    """

    final_layer_name = 'conv_seg'

    def __init__(self, in_channels: int, deconv_out_channels: Sequence[int] = (512, 256, 128, 64),
                 deconv_kernel_sizes: Sequence[int] = (4, 4, 4, 4), conv_out_channels: Sequence[int] = (64, 64),
                 conv_kernel_sizes: Sequence[int] = (1, 1), num_classes: int = 29, loss_decode=None, init_cfg=None):
        super().__init__(in_channels, num_classes, deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
                         conv_kernel_sizes, loss_decode=loss_decode, init_cfg=init_cfg)
        self.num_classes = num_classes

    def loss(self, feats: torch.Tensor, data_samples: Sequence, train_cfg: Optional[dict] = None) -> dict:
        """featmap [B, C, h, w] and mmseg ``SegDataSample`` s with ``gt_sem_seg`` [1, H, W] -> ``{loss_name: loss}``
        of ``loss_decode`` on the logits resized (bilinear) to the labels [B, H, W]."""
        logits = self.forward(feats)
        labels = torch.stack([ds.gt_sem_seg.data for ds in data_samples])[:, 0].long().to(logits.device)
        logits = resize_like(logits, labels.shape[-2:])
        return sum_losses(((m, (logits, labels)) for m in self.loss_decode), type(self).__name__)

    def predict(self, feats: torch.Tensor, data_samples: Optional[Sequence] = None,
                test_cfg: Optional[dict] = None) -> torch.Tensor:
        """featmap [B, C, h, w] -> logits [B, num_classes, h·2^n, w·2^n] (the network resolution)."""
        return self.forward(feats)
