from .attention import GroupedQueryAttention
from .layer_scale import LayerScale
from .patch_embed import PatchEmbed
from .rms_norm_2d import RMSNorm2d
from .rope import RopePositionEmbedding, apply_rope, rope_rotate_half
from .swiglu_ffn import SwiGLUFFN
from .transformer_block import TransformerBlock
from .windowed_tokenizer import WindowedTokenizer

__all__ = [
    'GroupedQueryAttention', 'LayerScale', 'PatchEmbed', 'RMSNorm2d', 'RopePositionEmbedding', 'apply_rope',
    'rope_rotate_half', 'SwiGLUFFN', 'TransformerBlock', 'WindowedTokenizer'
]
