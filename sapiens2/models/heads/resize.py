"""Bilinear resize of head outputs (logits, dense predictions) to the size of their targets or of the input."""
from typing import Sequence

import torch
import torch.nn.functional as F


def resize_like(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize of [B, C, h, w] to size (H, W) (no-op when equal)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
