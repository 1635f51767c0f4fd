"""RMS normalisation over the channels of every pixel of a feature map (the albedo head's norm, docs/architecture.md §2.3)."""
import torch
from torch import nn


class RMSNorm2d(nn.Module):
    """``nn.RMSNorm(channels)`` applied per pixel over channels: [B, C, H, W] -> [B, C, H, W].

    The wrapped module is called ``norm`` so the state-dict key is ``<prefix>.norm.weight`` as released.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.RMSNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'RMSNorm2d expects [B, C, H, W], got shape {tuple(x.shape)}')
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
