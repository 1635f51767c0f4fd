from torch import nn

from .attention import GroupedQueryAttention
from .swiglu_ffn import SwiGLUFFN


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attn(ln1(x))`` then ``x + ffn(ln2(x))`` (RMSNorm, no bias, eps 1e-6).

    Keys: ``ln1``, ``attn.*`` (see :class:`GroupedQueryAttention`), ``ln2``, ``ffn.w12``, ``ffn.w3``.
    """

    def __init__(self, embed_dims, num_heads, feedforward_channels, num_kv_heads=None, qkv_bias=True,
                 use_qk_norm=True, layer_scale_init_value=1e-4, drop_rate=0.0):
        super().__init__()
        self.ln1 = nn.RMSNorm(embed_dims, eps=1e-6)
        self.attn = GroupedQueryAttention(embed_dims, num_heads, num_kv_heads=num_kv_heads, qkv_bias=qkv_bias,
                                          use_qk_norm=use_qk_norm, layer_scale_init_value=layer_scale_init_value,
                                          proj_drop=drop_rate)
        self.ln2 = nn.RMSNorm(embed_dims, eps=1e-6)
        self.ffn = SwiGLUFFN(embed_dims, feedforward_channels, drop=drop_rate)

    def forward(self, x, rope=None):
        """x: [B, N, C]; rope: (sin, cos) or None. Returns [B, N, C]."""
        x = x + self.attn(self.ln1(x), rope)
        return x + self.ffn(self.ln2(x))

    def attention_probs(self, x, rope=None, query_indices=None):
        """Attention weights [B, H, Q, N] of this block's attention for the block input x [B, N, C] (see
        :meth:`GroupedQueryAttention.attention_probs`)."""
        return self.attn.attention_probs(self.ln1(x), rope, query_indices)
