"""DINO projection head: MLP -> L2-normalised bottleneck -> weight-normalised prototypes (docs/architecture.md §3.8, CL branch)."""
import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS


@MODELS.register_module()
class DINOProjectionHead(nn.Module):
    """[CLS] features [B, C] -> prototype logits [B, K].

    ``num_layers`` Linear layers (GELU between) map C -> hidden -> ... -> bottleneck; the bottleneck is
    L2-normalised and scored against K prototypes whose weight rows have unit norm (weight normalisation with the
    gain fixed to 1, as in DINO).
    """

    def __init__(self, in_channels: int, num_prototypes: int = 65536, hidden_channels: int = 2048,
                 bottleneck_channels: int = 256, num_layers: int = 3):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'DINOProjectionHead needs num_layers >= 1, got {num_layers}')
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [bottleneck_channels]
        layers = []
        for i in range(num_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1:
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        self.prototypes = nn.Linear(bottleneck_channels, num_prototypes, bias=False)
        self.init_weights()

    def init_weights(self):
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.prototypes.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.normalize(self.mlp(x), dim=-1, eps=1e-6)
        return F.linear(z, F.normalize(self.prototypes.weight, dim=-1, eps=1e-6))
