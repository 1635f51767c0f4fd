"""MAE decoder: visible tokens + learned mask tokens -> per-patch pixels (docs/architecture.md §3.8: 8 blocks, width 512)."""
import torch
from torch import nn

from sapiens2.registry import MODELS
from ..layers import RopePositionEmbedding, TransformerBlock


@MODELS.register_module()
class MAEDecoder(nn.Module):
    """Decoder of the masked-reconstruction branch, built from the backbone's own block type with 2-D RoPE
    (so that any h×w grid works, 64×48 included).

    Args:
        in_channels (int): encoder width C.
        embed_dims / num_layers / num_heads / feedforward_channels: decoder size (512, 8, 16, 2048).
        out_channels (int): pixels per patch, p·p·3 (p = 16, or 64 after the 4K tokenizer).
        num_prefix_tokens (int): [CLS] + storage tokens carried through from the encoder (9).
    Forward:
        ``(x [B, prefix + n_vis, C], ids_keep [B, n_vis], (h, w))`` -> predictions [B, h·w, out_channels].
    """

    def __init__(self, in_channels: int, out_channels: int, embed_dims: int = 512, num_layers: int = 8,
                 num_heads: int = 16, feedforward_channels: int = 2048, num_prefix_tokens: int = 9,
                 rope_dtype: str = 'fp32'):
        super().__init__()
        self.num_prefix_tokens = num_prefix_tokens
        self.embed = nn.Linear(in_channels, embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.rope_embed = RopePositionEmbedding(embed_dims, num_heads, dtype=rope_dtype)
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dims, num_heads, feedforward_channels, num_kv_heads=num_heads)
            for _ in range(num_layers))
        self.norm = nn.RMSNorm(embed_dims, eps=1e-6)
        self.pred = nn.Linear(embed_dims, out_channels)
        self.init_weights()

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, x: torch.Tensor, ids_keep: torch.Tensor, hw) -> torch.Tensor:
        B, n_vis = ids_keep.shape
        n = hw[0] * hw[1]
        x = self.embed(x)
        prefix, visible = x[:, :self.num_prefix_tokens], x[:, self.num_prefix_tokens:]
        if visible.shape[1] != n_vis:
            raise ValueError(f'MAEDecoder: {visible.shape[1]} visible tokens but ids_keep has {n_vis}')
        full = self.mask_token.to(x.dtype).expand(B, n, -1).clone()
        full.scatter_(1, ids_keep[..., None].expand(-1, -1, x.shape[-1]), visible)
        x = torch.cat([prefix, full], dim=1)
        rope = self.rope_embed(H=hw[0], W=hw[1])
        for block in self.blocks:
            x = block(x, rope)
        return self.pred(self.norm(x[:, self.num_prefix_tokens:]))
