import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .transformer_block import TransformerBlock


class WindowedTokenizer(nn.Module):
    """4K tokenizer (docs/architecture.md §1.5): pools each non-overlapping window×window group of patch tokens into one token.

    Each window (row-major over the window grid, tokens row-major inside it) gets the shared ``w_cls`` prepended
    and ``local_pos_embed`` [1, 1 + window², C] added, runs ``num_layers`` full-attention blocks (no RoPE, no
    QK-norm, no LayerScale) and keeps token 0. Windows go through in chunks of ``chunk_size``; with gradients in
    training each chunk is activation-checkpointed, so peak memory grows with the chunk, not the image.
    """

    def __init__(self, embed_dims, num_heads, feedforward_channels, num_layers, window_size=4, qkv_bias=True,
                 drop_rate=0.0, chunk_size=1024):
        super().__init__()
        self.window_size = window_size
        self.chunk_size = chunk_size
        self.local_pos_embed = nn.Parameter(torch.zeros(1, window_size * window_size + 1, embed_dims))
        self.w_cls = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.blocks = nn.ModuleList([
            TransformerBlock(embed_dims, num_heads, feedforward_channels, qkv_bias=qkv_bias, use_qk_norm=False,
                             layer_scale_init_value=None, drop_rate=drop_rate) for _ in range(num_layers)
        ])

    def _pool(self, windows):
        """windows: [n, window², C] -> [n, C]."""
        x = torch.cat([self.w_cls.expand(windows.shape[0], -1, -1), windows], dim=1) + self.local_pos_embed
        for block in self.blocks:
            x = block(x)
        return x[:, 0]

    def forward(self, x, hw, ids_keep=None):
        """x: [B, h·w, C] patch tokens on an (h, w) grid -> ([B, (h/s)·(w/s), C], (h/s, w/s)), s = window.

        With ``ids_keep`` [B, n] (indices into the (h/s)·(w/s) window grid, row-major) only those windows are
        pooled and the result is [B, n, C]. A window's token depends on that window alone, so this equals pooling
        every window and gathering afterwards (masking after the tokenizer), at n / ((h/s)·(w/s)) of the cost.
        """
        B, _, C = x.shape
        (h, w), s = hw, self.window_size
        if h % s or w % s:
            raise ValueError(f'patch grid {h}x{w} is not divisible by the tokenizer window {s}')
        windows = x.reshape(B, h // s, s, w // s, s, C).permute(0, 1, 3, 2, 4, 5).reshape(B, -1, s * s, C)
        if ids_keep is not None:
            windows = torch.gather(windows, 1, ids_keep[:, :, None, None].expand(-1, -1, s * s, C))
        n = windows.shape[1]
        use_cp = self.training and torch.is_grad_enabled()
        pooled = [
            checkpoint(self._pool, chunk, use_reentrant=False) if use_cp else self._pool(chunk)
            for chunk in windows.reshape(-1, s * s, C).split(self.chunk_size)
        ]
        return torch.cat(pooled).reshape(B, n, C), (h // s, w // s)
