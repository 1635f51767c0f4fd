import torch
import torch.nn.functional as F
from torch import nn

from .layer_scale import LayerScale
from .rope import apply_rope


class GroupedQueryAttention(nn.Module):
    """Multi-head self-attention with optional grouped key/values, QK-RMSNorm, RoPE and LayerScale.

    Keys: ``wq`` [C, C], ``wk``/``wv`` [kv·hd, C], ``q_norm``/``k_norm`` [hd], ``proj`` [C, C], ``gamma`` [C].

    Args:
        embed_dims (int): C.
        num_heads (int): H query heads; hd = C / H.
        num_kv_heads (int | None): key/value heads (H when None); query head i uses kv head i // (H / kv).
        qkv_bias (bool): biases of wq/wk/wv.
        use_qk_norm (bool): RMSNorm(eps 1e-6) over hd on q and k, before the kv repeat and RoPE.
        layer_scale_init_value (float | None): LayerScale ``gamma`` on the output; None for none.
        proj_drop (float): dropout after ``proj``.
    """

    def __init__(self, embed_dims, num_heads, num_kv_heads=None, qkv_bias=True, use_qk_norm=True,
                 layer_scale_init_value=1e-4, proj_drop=0.0):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        num_kv_heads = num_kv_heads or num_heads
        if num_heads % num_kv_heads:
            raise ValueError(f'num_heads {num_heads} is not divisible by num_kv_heads {num_kv_heads}')
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.head_dims = embed_dims // num_heads
        self.wq = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.wk = nn.Linear(embed_dims, num_kv_heads * self.head_dims, bias=qkv_bias)
        self.wv = nn.Linear(embed_dims, num_kv_heads * self.head_dims, bias=qkv_bias)
        if use_qk_norm:
            self.q_norm = nn.RMSNorm(self.head_dims, eps=1e-6)
            self.k_norm = nn.RMSNorm(self.head_dims, eps=1e-6)
        else:
            self.q_norm = self.k_norm = None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.gamma = LayerScale(embed_dims, layer_scale_init_value) if layer_scale_init_value else nn.Identity()

    def project_qkv(self, x: torch.Tensor, rope=None):
        """x [B, N, C] -> (q, k, v), each [B, H, N, hd]: projections, QK-norm, key/value heads repeated to H, RoPE
        on q and k. The one place where queries and keys are formed (:meth:`forward`, :meth:`attention_probs`)."""
        B, N, C = x.shape
        q = self.wq(x).view(B, N, self.num_heads, self.head_dims).transpose(1, 2)
        k = self.wk(x).view(B, N, self.num_kv_heads, self.head_dims).transpose(1, 2)
        v = self.wv(x).view(B, N, self.num_kv_heads, self.head_dims).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if self.num_kv_heads != self.num_heads:
            repeats = self.num_heads // self.num_kv_heads
            k = k.repeat_interleave(repeats, dim=1)
            v = v.repeat_interleave(repeats, dim=1)
        if rope is not None:
            q, k = apply_rope(q, k, rope)
        return q, k, v

    def forward(self, x: torch.Tensor, rope=None) -> torch.Tensor:
        """x: [B, N, C]; rope: (sin, cos) for the last positions, or None. Returns [B, N, C]."""
        B, N, C = x.shape
        q, k, v = self.project_qkv(x, rope)
        x = F.scaled_dot_product_attention(q, k, v, scale=self.head_dims**-0.5)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.gamma(self.proj_drop(self.proj(x)))

    def attention_probs(self, x: torch.Tensor, rope=None, query_indices=None) -> torch.Tensor:
        """The attention weights of :meth:`forward`: softmax(q·kᵀ / sqrt(hd)) over all N keys, in fp32.

        Args:
            x: [B, N, C] (the block's normalised input); rope: as in :meth:`forward`.
            query_indices (Sequence[int] | Tensor | None): the query tokens to return (e.g. ``[0]`` for [CLS]);
                None for all. Only those rows are computed, so a [CLS] map costs O(N), not O(N²).
        Returns:
            [B, H, Q, N] with Q = len(query_indices) or N.
        """
        q, k, _ = self.project_qkv(x, rope)
        if query_indices is not None:
            q = q[:, :, torch.as_tensor(query_indices, device=q.device, dtype=torch.long)]
        logits = (q @ k.transpose(-2, -1)) * self.head_dims**-0.5
        return logits.float().softmax(dim=-1)
