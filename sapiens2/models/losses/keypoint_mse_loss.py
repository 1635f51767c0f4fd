"""Heatmap losses of the pose head (docs/architecture.md §3.8): weighted MSE and its online hard keypoint mining (OHKM) variant.

mmpose's versions live in ``mmpose.models`` (needs compiled mmcv ops), so they are written here with mmpose's
semantics. Both take ``pred`` / ``target`` [B, K, H, W] and ``target_weight`` [B, K] (``keypoint_weights`` of the
UDP codec: 0 for invisible or out-of-crop keypoints).
"""
from typing import Optional

import torch
from torch import nn

from sapiens2.registry import MODELS


def _check_shapes(pred: torch.Tensor, target: torch.Tensor, target_weight: Optional[torch.Tensor], name: str):
    if pred.shape != target.shape:
        raise ValueError(f'{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ')
    if target_weight is not None and tuple(target_weight.shape) != tuple(pred.shape[:2]):
        raise ValueError(f'{name}: target_weight {tuple(target_weight.shape)} must be [B, K] = {tuple(pred.shape[:2])}')


@MODELS.register_module()
class KeypointMSELoss(nn.Module):
    """``loss_weight · mean_{b,k,y,x} (w_bk · (pred − target)²)`` (w = 1 without ``use_target_weight``).

    With ``skip_empty_channel`` the weight of a channel whose target is all zero is set to 0 (as mmpose)."""

    def __init__(self, use_target_weight: bool = True, skip_empty_channel: bool = False, loss_weight: float = 1.0,
                 loss_name: str = 'loss_kpt'):
        super().__init__()
        self.use_target_weight, self.skip_empty_channel = use_target_weight, skip_empty_channel
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_shapes(pred, target, target_weight, type(self).__name__)
        weight = pred.new_ones(pred.shape[:2])
        if self.use_target_weight and target_weight is not None:
            weight = weight * target_weight.to(pred.dtype)
        if self.skip_empty_channel:
            weight = weight * (target.flatten(2).abs().amax(2) > 0).to(pred.dtype)
        per_pixel = (pred - target) ** 2 * weight[:, :, None, None]
        return self.loss_weight * per_pixel.mean()


@MODELS.register_module()
class KeypointOHKMMSELoss(nn.Module):
    """Online hard keypoint mining: per keypoint ``l_bk = mean_{y,x} ((w·pred − w·target)²)``, then per sample the
    mean of the ``topk`` largest ``l_bk``, averaged over the batch, times ``loss_weight`` (mmpose semantics)."""

    def __init__(self, use_target_weight: bool = True, topk: int = 128, loss_weight: float = 1.0,
                 loss_name: str = 'loss_kpt'):
        super().__init__()
        if topk <= 0:
            raise ValueError(f'topk must be positive, got {topk}')
        self.use_target_weight, self.topk = use_target_weight, topk
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_shapes(pred, target, target_weight, type(self).__name__)
        if pred.shape[1] < self.topk:
            raise ValueError(f'{type(self).__name__}: topk={self.topk} exceeds the {pred.shape[1]} keypoints')
        if self.use_target_weight and target_weight is not None:
            w = target_weight.to(pred.dtype)[:, :, None, None]
            pred, target = pred * w, target * w
        per_keypoint = ((pred - target) ** 2).mean(dim=(2, 3))  # [B, K]
        hard, _ = per_keypoint.topk(self.topk, dim=1)
        return self.loss_weight * hard.mean()
