"""Masked per-pixel regression losses shared by pointmap, normal and albedo (docs/architecture.md §3).

Every loss takes ``(pred [B, C, H, W], target [B, C, H, W], mask [B, 1, H, W] | None)``; pixels with mask 0 or a
non-finite target are excluded, averages are over the remaining pixels.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS
from .valid_pixels import clean_target, masked_mean, pixel_distance, valid_mask


@MODELS.register_module()
class PixelRegressionLoss(nn.Module):
    """Mean over valid pixels of ``pixel_distance(pred − target, mode)``: 'l2' = ‖P̂ − P‖₂ per pixel (paper),
    'mse' squared, 'l1' mean absolute (released recipes)."""

    def __init__(self, mode: str = 'l2', loss_weight: float = 1.0, loss_name: str = 'loss_pixel'):
        super().__init__()
        pixel_distance(torch.zeros(1, 1, 1, 1), mode)  # validates the mode
        self.mode, self.loss_weight, self.loss_name = mode, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        return self.loss_weight * masked_mean(pixel_distance(pred - clean_target(target, valid), self.mode), valid)


@MODELS.register_module()
class GradientLoss(nn.Module):
    """‖∇P̂ − ∇P‖ with forward differences along x and y; a difference counts where both of its pixels are valid.
    loss = (Σ_x d + Σ_y d) / (#x pairs + #y pairs), d = ``pixel_distance`` of the gradient difference."""

    def __init__(self, mode: str = 'l2', loss_weight: float = 1.0, loss_name: str = 'loss_grad'):
        super().__init__()
        pixel_distance(torch.zeros(1, 1, 1, 1), mode)
        self.mode, self.loss_weight, self.loss_name = mode, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        diff = pred - clean_target(target, valid)
        dx = pixel_distance(diff[..., :, 1:] - diff[..., :, :-1], self.mode)
        vx = (valid[..., :, 1:] & valid[..., :, :-1]).to(pred.dtype)
        dy = pixel_distance(diff[..., 1:, :] - diff[..., :-1, :], self.mode)
        vy = (valid[..., 1:, :] & valid[..., :-1, :]).to(pred.dtype)
        total = (dx * vx).sum() + (dy * vy).sum()
        return self.loss_weight * total / (vx.sum() + vy.sum()).clamp(min=1.0)


@MODELS.register_module()
class CosineSimilarityLoss(nn.Module):
    """Mean over valid pixels of 1 − cos(P̂, P) (both normalised over channels): the normal loss."""

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-6, loss_name: str = 'loss_cos'):
        super().__init__()
        self.loss_weight, self.eps, self.loss_name = loss_weight, eps, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        cos = F.cosine_similarity(pred, clean_target(target, valid), dim=1, eps=self.eps).unsqueeze(1)
        return self.loss_weight * masked_mean(1 - cos, valid)


@MODELS.register_module()
class MeanColorLoss(nn.Module):
    """‖μ(Â) − μ(A)‖₂ with μ the per-sample masked spatial mean [B, C]; averaged over samples with valid pixels."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_mean_color'):
        super().__init__()
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        w = valid.to(pred.dtype)
        count = w.sum((2, 3))  # [B, 1]
        mu_p = (pred * w).sum((2, 3)) / count.clamp(min=1)
        mu_t = (clean_target(target, valid) * w).sum((2, 3)) / count.clamp(min=1)
        dist = (mu_p - mu_t).pow(2).sum(1).clamp(min=1e-12).sqrt()
        has = (count[:, 0] > 0).to(pred.dtype)
        return self.loss_weight * (dist * has).sum() / has.sum().clamp(min=1)


@MODELS.register_module()
class ChromaticityL1Loss(nn.Module):
    """Released albedo recipe: L1 between chromaticities c = rgb / (r + g + b + eps), mean over valid pixels."""

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0, loss_name: str = 'loss_chroma'):
        super().__init__()
        self.eps, self.loss_weight, self.loss_name = eps, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        cp = pred / (pred.sum(1, keepdim=True).abs() + self.eps)
        ct = target / (target.sum(1, keepdim=True).abs() + self.eps)
        return self.loss_weight * masked_mean((cp - ct).abs().mean(1, keepdim=True), valid)


@MODELS.register_module()
class ScaleL1Loss(nn.Module):
    """|ŝ − s| averaged over samples with a finite target: pred / target [B, 1] (or [B])."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_scale'):
        super().__init__()
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor] = None):
        pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
        if pred.shape != target.shape:
            raise ValueError(f'scale prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ')
        ok = torch.isfinite(target)
        err = (pred - torch.where(ok, target, torch.zeros_like(target))).abs() * ok
        return self.loss_weight * err.sum() / ok.sum().clamp(min=1)
