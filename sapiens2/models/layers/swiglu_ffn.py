import torch.nn.functional as F
from torch import nn


class SwiGLUFFN(nn.Module):
    """``w3(silu(a) * b)`` with ``a, b = w12(x).chunk(2, -1)``. Keys: ``w12`` [2F, C], ``w3`` [C, F]."""

    def __init__(self, embed_dims, feedforward_channels, drop=0.0):
        super().__init__()
        self.w12 = nn.Linear(embed_dims, 2 * feedforward_channels)
        self.w3 = nn.Linear(feedforward_channels, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        a, b = self.w12(x).chunk(2, dim=-1)
        return self.drop(self.w3(self.drop(F.silu(a) * b)))
