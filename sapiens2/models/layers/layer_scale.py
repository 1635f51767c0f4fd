import torch
from torch import nn


class LayerScale(nn.Module):
    """Per-channel scale ``x * weight`` ([C] parameter named ``weight``, as in the released checkpoints)."""

    def __init__(self, dims: int, init_value: float = 1e-4):
        super().__init__()
        self.init_value = init_value
        self.weight = nn.Parameter(torch.full((dims, ), float(init_value)))

    def init_weights(self):
        nn.init.constant_(self.weight, self.init_value)

    def forward(self, x):
        return x * self.weight
