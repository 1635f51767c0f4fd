"""Valid-pixel helpers shared by the dense losses: valid = mask > 0 and a finite target (not MAE token masking:
that is sapiens2/models/pretrain/masking.py)."""
from typing import Optional

import torch


def valid_mask(pred: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """pred / target [B, C, H, W], mask [B, 1, H, W] or [B, H, W] (or None) -> bool [B, 1, H, W]."""
    if pred.shape != target.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape')
    valid = torch.isfinite(target).all(dim=1, keepdim=True)
    if mask is not None:
        if mask.dim() == 3:
            mask = mask[:, None]
        if mask.shape[0] != pred.shape[0] or mask.shape[-2:] != pred.shape[-2:]:
            raise ValueError(f'mask {tuple(mask.shape)} does not match prediction {tuple(pred.shape)}')
        valid = valid & (mask > 0)
    return valid


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [B, 1, H, W] over ``valid``; 0 (with a gradient path) when nothing is valid."""
    values = torch.where(valid, values, torch.zeros_like(values))  # NaN * 0 would stay NaN
    return values.sum() / valid.sum().clamp(min=1).to(values.dtype)


def clean_target(target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Replace invalid (NaN / Inf / masked) target pixels by 0 so that they cannot poison sums."""
    return torch.where(valid.expand_as(target), target, torch.zeros_like(target))


def pixel_distance(diff: torch.Tensor, mode: str) -> torch.Tensor:
    """diff [B, C, H, W] -> per-pixel [B, 1, H, W]: 'l2' Euclidean norm, 'mse' squared norm / C, 'l1' mean |.|."""
    if mode == 'l2':
        return diff.pow(2).sum(1, keepdim=True).clamp(min=1e-12).sqrt()
    if mode == 'mse':
        return diff.pow(2).mean(1, keepdim=True)
    if mode == 'l1':
        return diff.abs().mean(1, keepdim=True)
    raise ValueError(f"mode must be 'l2', 'mse' or 'l1', got {mode!r}")
