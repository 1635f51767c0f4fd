"""Alternatives of the released pointmap recipe (docs/architecture.md §3.8): depth-normalised L1, multiscale L1, SILog on Z,
intrinsics consistency, shift-invariant L1 and the normal-from-pointmap term. Inputs as the other regression
losses: [B, 3, H, W] (X, Y, Z)."""
import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS
from .valid_pixels import clean_target, masked_mean, valid_mask


@MODELS.register_module()
class DepthNormalizedL1Loss(nn.Module):
    """mean_valid min(Σ_c |P̂_c − P_c| / |Z|, clamp) with Z the target depth (pixels with |Z| < eps excluded)."""

    def __init__(self, clamp: float = 4.0, eps: float = 1e-6, loss_weight: float = 1.0,
                 loss_name: str = 'loss_depth_norm_l1'):
        super().__init__()
        self.clamp, self.eps, self.loss_weight, self.loss_name = clamp, eps, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        z = target[:, 2:3].abs()
        valid = valid & (z > self.eps)
        err = (pred - target).abs().sum(1, keepdim=True) / z.clamp(min=self.eps)
        return self.loss_weight * masked_mean(err.clamp(max=self.clamp), valid)


@MODELS.register_module()
class MultiScaleL1Loss(nn.Module):
    """Mean absolute error at full resolution and after ``num_scales − 1`` masked 2× average poolings, averaged."""

    def __init__(self, num_scales: int = 2, loss_weight: float = 1.0, loss_name: str = 'loss_ms_l1'):
        super().__init__()
        self.num_scales, self.loss_weight, self.loss_name = num_scales, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        total = 0.0
        for s in range(self.num_scales):
            total = total + masked_mean((pred - target).abs().mean(1, keepdim=True), valid)
            if s + 1 < self.num_scales:
                w = valid.to(pred.dtype)
                wp = F.avg_pool2d(w, 2)
                pred = F.avg_pool2d(pred * w, 2) / wp.clamp(min=1e-6)
                target = F.avg_pool2d(target * w, 2) / wp.clamp(min=1e-6)
                valid = wp > 0
        return self.loss_weight * total / self.num_scales


@MODELS.register_module()
class SILogLoss(nn.Module):
    """Scale-invariant log loss on the Z channel: sqrt(mean d² − λ (mean d)²), d = log Ẑ − log Z over valid pixels
    with Z > eps (Ẑ clamped to eps)."""

    def __init__(self, lam: float = 0.85, eps: float = 1e-3, loss_weight: float = 1.0, loss_name: str = 'loss_silog'):
        super().__init__()
        self.lam, self.eps, self.loss_weight, self.loss_name = lam, eps, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        valid = valid & (target[:, 2:3] > self.eps)
        d = torch.log(pred[:, 2:3].clamp(min=self.eps)) - torch.log(target[:, 2:3].clamp(min=self.eps))
        mean_d = masked_mean(d, valid)
        mean_d2 = masked_mean(d * d, valid)
        return self.loss_weight * (mean_d2 - self.lam * mean_d ** 2).clamp(min=1e-12).sqrt()


@MODELS.register_module()
class ShiftInvariantL1Loss(nn.Module):
    """L1 after removing each sample's masked mean per channel from prediction and target (translation-free)."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_shift_l1'):
        super().__init__()
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        w = valid.to(pred.dtype)
        n = w.sum((2, 3), keepdim=True).clamp(min=1)
        pred = pred - (pred * w).sum((2, 3), keepdim=True) / n
        target = target - (target * w).sum((2, 3), keepdim=True) / n
        return self.loss_weight * masked_mean((pred - target).abs().mean(1, keepdim=True), valid)


def normals_from_pointmap(points: torch.Tensor) -> torch.Tensor:
    """points [B, 3, H, W] -> unit normals [B, 3, H−1, W−1] = normalize(∂P/∂v × ∂P/∂u) (forward differences):
    with OpenCV camera axes (x right, y down, z forward) they face the camera (n_z < 0), as the normal targets."""
    du = points[..., :-1, 1:] - points[..., :-1, :-1]
    dv = points[..., 1:, :-1] - points[..., :-1, :-1]
    return F.normalize(torch.cross(dv, du, dim=1), dim=1, eps=1e-8)


@MODELS.register_module()
class NormalFromPointmapLoss(nn.Module):
    """Mean 1 − cos between normals derived from the predicted and target pointmaps, where all 3 pixels are valid."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_pm_normal'):
        super().__init__()
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        v = valid[..., :-1, :-1] & valid[..., :-1, 1:] & valid[..., 1:, :-1]
        cos = (normals_from_pointmap(pred) * normals_from_pointmap(target)).sum(1, keepdim=True)
        return self.loss_weight * masked_mean(1 - cos, v)


@MODELS.register_module()
class IntrinsicsConsistencyLoss(nn.Module):
    """Ray consistency with the camera: a point seen at pixel (u, v) satisfies X/Z = (u − cx)/fx, Y/Z = (v − cy)/fy,
    which the target encodes as X/Z, Y/Z. loss = mean_valid (|X̂/Ẑ − X/Z| + |Ŷ/Ẑ − Y/Z|) / 2 over pixels with
    Z > eps (Ẑ clamped to eps)."""

    def __init__(self, eps: float = 1e-3, loss_weight: float = 1.0, loss_name: str = 'loss_intrinsics'):
        super().__init__()
        self.eps, self.loss_weight, self.loss_name = eps, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        valid = valid & (target[:, 2:3] > self.eps)
        ray_p = pred[:, :2] / pred[:, 2:3].clamp(min=self.eps)
        ray_t = target[:, :2] / target[:, 2:3].clamp(min=self.eps)
        return self.loss_weight * masked_mean((ray_p - ray_t).abs().mean(1, keepdim=True), valid)
