"""The Sapiens2 vision transformer (docs/architecture.md §1), state-dict compatible with the released checkpoints."""
import copy
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from sapiens2.registry import MODELS
from sapiens2.utils.checkpoint import load_pretrained
from ..layers import PatchEmbed, RopePositionEmbedding, TransformerBlock, WindowedTokenizer

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels', 'num_tokenizer_layers')
NUM_DENSE_EDGE_BLOCKS = 8  # blocks i < 8 and i >= L - 8 use full multi-head attention; the middle ones GQA


@MODELS.register_module()
class Sapiens2(BaseModule):
    """Sapiens2 backbone: patch embed (+ optional 4K windowed tokenizer), [CLS] + 8 storage tokens,
    RMSNorm/SwiGLU/QK-norm/RoPE blocks with grouped-query attention in the middle, final RMSNorm.

    Args:
        arch (str | dict): one of :attr:`arch_zoo` or a dict with keys ``embed_dims, num_layers, num_heads,
            feedforward_channels, num_tokenizer_layers``.
        img_size (tuple): (H, W) the model is meant for; informational, the grid follows the input.
        patch_size (int): 16 in every released model.
        out_indices (int | Sequence[int]): blocks whose outputs are returned; negative counts from L.
        use_tokenizer (bool): the 4K windowed tokenizer (input divisible by patch_size · window_size).
        out_type (str): 'raw' [B, prefix + h·w, C], 'cls_token' [B, C] or 'featmap' [B, C, h, w].
        frozen_stages (int): k > 0 freezes tokenizer, patch embed, special tokens and blocks 0..k-1
            (and the final norm when k == L).
        with_cp (bool): activation checkpointing of every block in training.
        pos_embed_rope_dtype (str): 'bf16' (released numerics) or 'fp32'. The RoPE periods follow it also when a
            checkpoint holds them in another dtype (released files: bf16), and are recomputed when a checkpoint
            lacks them (files re-saved by transformers).
        layer_cfgs (dict | Sequence[dict]): per-block overrides of :class:`TransformerBlock` arguments.
    Returns:
        ``forward(x [B, 3, H, W], ids_keep=None)`` -> tuple with one tensor per ``out_indices`` entry.

    Token paths, all through :meth:`prepare_tokens` and the blocks' own attention: :meth:`forward` (task models,
    exports; ``ids_keep`` for masked encoding), :meth:`forward_features` (final-norm tokens whatever ``out_type``:
    pretraining encoder, probes) and :meth:`get_attention_maps` (attention weights of chosen blocks and queries).
    """
    arch_zoo = {
        'sapiens2_0.1b': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072,
                              num_tokenizer_layers=2),
        'sapiens2_0.4b': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096,
                              num_tokenizer_layers=2),
        'sapiens2_0.8b': dict(embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120,
                              num_tokenizer_layers=3),
        'sapiens2_1b': dict(embed_dims=1536, num_layers=40, num_heads=24, feedforward_channels=6144,
                            num_tokenizer_layers=4),
        'sapiens2_5b': dict(embed_dims=2432, num_layers=56, num_heads=32, feedforward_channels=9728,
                            num_tokenizer_layers=6),
    }
    OUT_TYPES = ('raw', 'cls_token', 'featmap')

    def __init__(self, arch='sapiens2_1b', img_size=(1024, 768), patch_size=16, in_channels=3, out_indices=-1,
                 drop_rate=0.0, window_size=4, use_tokenizer=False, use_qk_norm=True, qkv_bias=True,
                 final_norm=True, out_type='raw', with_cls_token=True, layer_scale_init_value=1e-4,
                 frozen_stages=-1, patch_cfg=dict(), layer_cfgs=dict(), pos_embed_rope_base=100.0,
                 pos_embed_rope_min_period=None, pos_embed_rope_max_period=None,
                 pos_embed_rope_normalize_coords='separate', pos_embed_rope_shift_coords=None,
                 pos_embed_rope_jitter_coords=None, pos_embed_rope_rescale_coords=None, pos_embed_rope_dtype='bf16',
                 n_storage_tokens=8, with_cp=False, tokenizer_chunk_size=1024, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        self.img_size = tuple(img_size)
        self.patch_size = patch_size
        self.use_tokenizer = use_tokenizer
        self.window_size = window_size
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, got {out_type!r}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError("out_type='cls_token' needs with_cls_token=True")
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        self.n_storage_tokens = n_storage_tokens
        self.num_prefix_tokens = int(with_cls_token) + n_storage_tokens
        self.final_norm = final_norm
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        C = self.embed_dims

        self.patch_embed = PatchEmbed(**dict(in_channels=in_channels, embed_dims=C, patch_size=patch_size,
                                             **patch_cfg))
        if use_tokenizer:
            self.tokenizer = WindowedTokenizer(C, self.num_heads, 4 * C,  # tokenizer FFN is always 4C
                                               self.arch_settings['num_tokenizer_layers'], window_size=window_size,
                                               qkv_bias=qkv_bias, drop_rate=drop_rate,
                                               chunk_size=tokenizer_chunk_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, C)) if with_cls_token else None
        self.storage_tokens = nn.Parameter(torch.zeros(1, n_storage_tokens, C)) if n_storage_tokens else None
        self.drop_after_pos = nn.Dropout(drop_rate)
        self.rope_embed = RopePositionEmbedding(
            C, self.num_heads, base=pos_embed_rope_base, min_period=pos_embed_rope_min_period,
            max_period=pos_embed_rope_max_period, normalize_coords=pos_embed_rope_normalize_coords,
            shift_coords=pos_embed_rope_shift_coords, jitter_coords=pos_embed_rope_jitter_coords,
            rescale_coords=pos_embed_rope_rescale_coords, dtype=pos_embed_rope_dtype)

        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        if len(layer_cfgs) != self.num_layers:
            raise ValueError(f'layer_cfgs has {len(layer_cfgs)} entries for {self.num_layers} blocks')
        self.blocks = nn.ModuleList()
        for i in range(self.num_layers):
            cfg = dict(embed_dims=C, num_heads=self.num_heads,
                       feedforward_channels=self.arch_settings['feedforward_channels'],
                       num_kv_heads=self.num_kv_heads(i), qkv_bias=qkv_bias, use_qk_norm=use_qk_norm,
                       layer_scale_init_value=layer_scale_init_value, drop_rate=drop_rate)
            cfg.update(layer_cfgs[i])
            self.blocks.append(TransformerBlock(**cfg))
        if final_norm:
            self.ln1 = nn.RMSNorm(C, eps=1e-6)

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = []
        for index in out_indices:
            idx = index + self.num_layers if index < 0 else index
            if not 0 <= idx < self.num_layers:
                raise ValueError(f'out_indices entry {index} is out of range for {self.num_layers} blocks')
            self.out_indices.append(idx)
        self._freeze_stages()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def _parse_arch(cls, arch):
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'unknown Sapiens2 arch {arch!r}; valid archs: {", ".join(cls.arch_zoo)} '
                                 f'or a dict with keys {", ".join(ARCH_KEYS)}')
            return copy.deepcopy(cls.arch_zoo[key])
        if isinstance(arch, dict):
            missing = set(ARCH_KEYS) - set(arch)
            if missing:
                raise ValueError(f'Sapiens2 arch dict lacks {sorted(missing)}; it needs {", ".join(ARCH_KEYS)}')
            return {k: arch[k] for k in ARCH_KEYS}
        raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')

    def num_kv_heads(self, block_index: int) -> int:
        """Key/value heads of block ``block_index``: H at both ends of the stack, H // 2 in the middle."""
        edge = block_index < NUM_DENSE_EDGE_BLOCKS or block_index >= self.num_layers - NUM_DENSE_EDGE_BLOCKS
        return self.num_heads if edge else self.num_heads // 2

    @property
    def input_divisor(self) -> int:
        return self.patch_size * (self.window_size if self.use_tokenizer else 1)

    # ------------------------------------------------------------------ weights
    def init_weights(self):
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            load_pretrained(self, self.init_cfg['checkpoint'], prefix=self.init_cfg.get('prefix', ''),
                            strict=self.init_cfg.get('strict', True))
            self._is_init = True
            return
        if self.init_cfg is not None:  # another MMEngine initialiser is configured
            super().init_weights()
            return
        self._is_init = True
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.RMSNorm):
                nn.init.ones_(m.weight)
            elif hasattr(m, 'init_weights') and m is not self:
                m.init_weights()  # LayerScale, RoPE periods
        for p in (self.cls_token, self.storage_tokens):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
        if self.use_tokenizer:
            nn.init.trunc_normal_(self.tokenizer.local_pos_embed, std=0.02)
            nn.init.trunc_normal_(self.tokenizer.w_cls, std=0.02)

    def _freeze_stages(self):
        if self.frozen_stages <= 0:
            return
        frozen = [self.patch_embed]
        if self.use_tokenizer:
            frozen.append(self.tokenizer)
        frozen += list(self.blocks[:self.frozen_stages])
        if self.frozen_stages >= self.num_layers and self.final_norm:
            frozen.append(self.ln1)
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False
        for p in (self.cls_token, self.storage_tokens):
            if p is not None:
                p.requires_grad = False
        self.drop_after_pos.eval()

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id for layer-wise lr decay (mmpretrain contract): special tokens, patch embed, tokenizer and
        RoPE get 0, block i gets i + 1, the rest (final norm) L + 1. Returns (layer_id, num_layer_ids = L + 2)."""
        num_ids = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_ids - 1, num_ids
        name = param_name[len(prefix):]
        if name.startswith(('cls_token', 'storage_tokens', 'patch_embed', 'tokenizer', 'rope_embed')):
            return 0, num_ids
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_ids
        return num_ids - 1, num_ids

    # ------------------------------------------------------------------ forward
    def check_input(self, x: torch.Tensor):
        if x.dim() != 4:
            raise ValueError(f'Sapiens2 expects [B, C, H, W] images, got shape {list(x.shape)}')
        H, W = x.shape[-2:]
        d = self.input_divisor
        if H % d or W % d:
            what = f'patch size {self.patch_size} x tokenizer window {self.window_size}' if self.use_tokenizer \
                else f'patch size {self.patch_size}'
            raise ValueError(f'input {H}x{W} is not divisible by {d} ({what}); resize or pad it, e.g. to '
                             f'{-(-H // d) * d}x{-(-W // d) * d}')

    def embed_patches(self, x: torch.Tensor, ids_keep: Optional[torch.Tensor] = None):
        """Image [B, 3, H, W] -> (patch tokens [B, h·w, C], (h, w)), through the tokenizer when present.

        ``ids_keep`` [B, n] (MAE's visible tokens, row-major over the (h, w) output grid) keeps only those tokens:
        [B, n, C]. With the 4K tokenizer the masking is after the tokenizer, and only the kept windows are
        tokenized (a tokenizer token depends on its own window only, so the result is the same).
        """
        self.check_input(x)
        x, hw = self.patch_embed(x)
        if self.use_tokenizer:
            return self.tokenizer(x, hw, ids_keep)
        if ids_keep is not None:
            x = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, x.shape[-1]))
        return x, hw

    def prepend_prefix_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """[B, n, C] -> [B, prefix + n, C] with [CLS] first, then the storage tokens."""
        prefix = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.storage_tokens) if t is not None]
        return torch.cat(prefix + [x], dim=1)

    def prepare_tokens(self, x: torch.Tensor, ids_keep: Optional[torch.Tensor] = None):
        """Image [B, 3, H, W] -> (tokens [B, prefix + n, C], rope (sin, cos), (h, w)): patch embed (+ tokenizer),
        [CLS] + storage tokens prepended, dropout, and the RoPE of the (h, w) grid.

        ``ids_keep`` [B, n] (visible tokens, row-major over the (h, w) grid; e.g. MAE masking) keeps only those
        patch tokens, and the RoPE becomes per sample ([B, n, hd]: the positions of the kept tokens). Without it
        n = h·w (DINOv2's ``prepare_tokens_with_masks`` and mmpretrain's ``MAEViT`` masking do the same job).
        """
        x, hw = self.embed_patches(x, ids_keep)
        x = self.drop_after_pos(self.prepend_prefix_tokens(x))
        sin, cos = self.rope_embed(H=hw[0], W=hw[1])
        if ids_keep is not None:
            sin, cos = sin[ids_keep], cos[ids_keep]  # [B, n, hd]: per-sample positions of the visible tokens
        return x, (sin, cos), hw

    def forward_block(self, index: int, x: torch.Tensor, rope) -> torch.Tensor:
        block = self.blocks[index]
        if self.with_cp and self.training and torch.is_grad_enabled():
            return checkpoint(block, x, rope, use_reentrant=False)
        return block(x, rope)

    def _run_blocks(self, x: torch.Tensor, rope, last: int):
        """Blocks 0..``last`` on the tokens; yields (i, tokens after block i), the final norm applied after the last
        block of the network."""
        for i in range(last + 1):
            x = self.forward_block(i, x, rope)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            yield i, x

    def format_output(self, x: torch.Tensor, hw) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        B, _, C = x.shape
        return x[:, self.num_prefix_tokens:].reshape(B, hw[0], hw[1], C).permute(0, 3, 1, 2).contiguous()

    def forward(self, x: torch.Tensor, ids_keep: Optional[torch.Tensor] = None):
        """Images [B, 3, H, W] -> tuple with one output per ``out_indices`` entry (see ``out_type``).

        ``ids_keep`` [B, n] encodes only those patch tokens (masked encoding, as mmpretrain's
        ``MAEViT.forward(x, mask)``; the 4K tokenizer then tokenizes only the kept windows): outputs are 'raw'
        [B, prefix + n, C] or 'cls_token' [B, C]; 'featmap' needs the full grid.
        """
        if ids_keep is not None and self.out_type == 'featmap':
            raise ValueError("out_type='featmap' needs every patch token; masked encoding (ids_keep) returns 'raw' "
                             "or 'cls_token' outputs")
        x, rope, hw = self.prepare_tokens(x, ids_keep)
        return tuple(self.format_output(y, hw) for i, y in self._run_blocks(x, rope, self.num_layers - 1)
                     if i in self.out_indices)

    def forward_features(self, x: torch.Tensor, ids_keep: Optional[torch.Tensor] = None):
        """Images [B, 3, H, W] (+ ``ids_keep`` [B, n], see :meth:`forward`) -> (tokens [B, prefix + n, C] after the
        last block and the final norm, (h, w)), whatever ``out_type`` / ``out_indices`` are (DINOv2's
        ``forward_features(x, masks)``). The pretraining encoder (student and teacher) and the probes use it."""
        x, rope, hw = self.prepare_tokens(x, ids_keep)
        for _, x in self._run_blocks(x, rope, self.num_layers - 1):
            pass
        return x, hw

    def get_attention_maps(self, x: torch.Tensor, block_indices=-1, query_indices=None,
                           ids_keep: Optional[torch.Tensor] = None) -> tuple:
        """Self-attention weights of blocks, computed with the same queries and keys as :meth:`forward`.

        Args:
            x: images [B, 3, H, W].
            block_indices (int | Sequence[int]): blocks whose attention to return (negative counts from L); the
                forward runs up to the last of them.
            query_indices (Sequence[int] | None): query tokens to return, e.g. ``[0]`` for the [CLS] row (cheap:
                only those rows are computed); None for all tokens.
            ids_keep: visible tokens, as in :meth:`forward`.
        Returns:
            tuple (one per ``block_indices`` entry) of fp32 [B, heads, Q, N]: softmax over all N keys, the
            ``num_prefix_tokens`` prefix ([CLS], storage) first, then the patch tokens row-major over the
            (H / input_divisor, W / input_divisor) grid (or the ``ids_keep`` tokens).

        Example, [CLS] attention over the patches of the last block: ``a = backbone.get_attention_maps(x,
        query_indices=[0])[0][:, :, 0, backbone.num_prefix_tokens:].reshape(B, heads, h, w)``.
        """
        single = isinstance(block_indices, int)
        indices = [block_indices] if single else list(block_indices)
        resolved = []
        for index in indices:
            idx = index + self.num_layers if index < 0 else index
            if not 0 <= idx < self.num_layers:
                raise ValueError(f'block index {index} is out of range for {self.num_layers} blocks')
            resolved.append(idx)
        x, rope, _ = self.prepare_tokens(x, ids_keep)
        maps = {}
        last = max(resolved)
        y = x
        for i in range(last + 1):
            if i in resolved:
                maps[i] = self.blocks[i].attention_probs(y, rope, query_indices)
            if i < last:
                y = self.forward_block(i, y, rope)
        return tuple(maps[i] for i in resolved)
