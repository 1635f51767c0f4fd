"""2-D rotary position embedding (RoPE) of the Sapiens2 backbone (docs/architecture.md §1.4).

The released networks compute the periods, the coordinates and sin/cos in bfloat16 and pass q/k through
that dtype; reproducing those numerics is what makes released checkpoints give the same outputs.

The ``periods`` buffer is saved (the released layout has it) but is a function of the settings: a checkpoint
whose periods have another dtype than the module's (released bf16 periods into ``dtype='fp32'``) gets them
recomputed in the module's dtype, and one without them (re-saved by transformers, which computes its RoPE
frequencies on the fly) gets them recomputed with a log line.
"""
import logging
import math

import numpy as np
import torch
from mmengine.logging import print_log
from torch import nn

ROPE_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16, 'fp32': torch.float32}


def rope_rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``cat(-x2, x1)`` for the two halves (x1, x2) of the last dim."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def _rotate(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """``x · cos + rotate_half(x) · sin`` (all positions of x rotated)."""
    return x * cos + rope_rotate_half(x) * sin


def apply_rope(q: torch.Tensor, k: torch.Tensor, rope) -> tuple:
    """Rotate the last positions of q and k; the leading (prefix) positions are left as they are.

    Args:
        q, k: [B, heads, N, hd].
        rope: (sin, cos), each [n, hd] (shared by the batch) or [B, n, hd] (per sample, e.g. visible tokens
            under masking), n <= N; the last n positions of q/k are rotated.
    Returns:
        (q, k) in their own dtypes, having passed through the dtype of ``sin``.
    """
    sin, cos = rope
    if sin.dim() == 3:  # per-sample positions: broadcast over heads
        sin, cos = sin[:, None], cos[:, None]
    q_dtype, k_dtype = q.dtype, k.dtype
    q, k = q.to(sin.dtype), k.to(sin.dtype)
    prefix = q.shape[-2] - sin.shape[-2]
    if prefix < 0:
        raise ValueError(f'RoPE has {sin.shape[-2]} positions but the sequence only {q.shape[-2]} tokens')
    q = torch.cat((q[..., :prefix, :], _rotate(q[..., prefix:, :], sin, cos)), dim=-2)
    k = torch.cat((k[..., :prefix, :], _rotate(k[..., prefix:, :], sin, cos)), dim=-2)
    return q.to(q_dtype), k.to(k_dtype)


class RopePositionEmbedding(nn.Module):
    """Axial 2-D RoPE: ``forward(H=h, W=w)`` returns (sin, cos), each [h·w, head_dim].

    Args:
        embed_dims (int): C. head_dim = C / num_heads must be divisible by 4.
        num_heads (int): attention heads.
        base (float | None): period base; or give both ``min_period`` and ``max_period``.
        normalize_coords (str): 'separate' (each axis by its own length), 'max' or 'min'.
        shift_coords / jitter_coords / rescale_coords (float | None): training-time coordinate augmentations.
        dtype (str): 'bf16' (released numerics), 'fp16' or 'fp32'.
    """

    def __init__(self, embed_dims, num_heads, base=100.0, min_period=None, max_period=None,
                 normalize_coords='separate', shift_coords=None, jitter_coords=None, rescale_coords=None,
                 dtype='bf16'):
        super().__init__()
        if embed_dims % (4 * num_heads) != 0:
            raise ValueError(f'RoPE needs embed_dims ({embed_dims}) divisible by 4 * num_heads ({4 * num_heads})')
        both_periods = min_period is not None and max_period is not None
        if (base is None) == (not both_periods):
            raise ValueError('RoPE takes either `base` or both `min_period` and `max_period`')
        if normalize_coords not in ('separate', 'max', 'min'):
            raise ValueError(f"normalize_coords must be 'separate', 'max' or 'min', got {normalize_coords!r}")
        if dtype not in ROPE_DTYPES:
            raise ValueError(f'RoPE dtype must be one of {sorted(ROPE_DTYPES)}, got {dtype!r}')
        self.head_dim = embed_dims // num_heads
        self.base, self.min_period, self.max_period = base, min_period, max_period
        self.normalize_coords = normalize_coords
        self.shift_coords, self.jitter_coords, self.rescale_coords = shift_coords, jitter_coords, rescale_coords
        self.dtype = ROPE_DTYPES[dtype]
        self.register_buffer('periods', torch.empty(self.head_dim // 4, dtype=self.dtype), persistent=True)
        self.init_weights()

    # Buffers rebuilt from the settings when a checkpoint lacks them (sapiens2.utils.checkpoint.state_dict_mismatch).
    recomputable_buffers = ('periods',)
    # The file's periods must agree with the recomputed ones to this relative tolerance: bf16 arithmetic (the
    # release) is off by up to 1 % from exact periods (head_dim 80), a different base or period range by far more.
    PERIODS_RTOL = 0.05

    def compute_periods(self) -> torch.Tensor:
        """The periods of the settings, computed in :attr:`dtype` (bf16 arithmetic reproduces the release)."""
        dd = dict(device=self.periods.device, dtype=self.dtype)
        if self.base is not None:
            return self.base**(2 * torch.arange(self.head_dim // 4, **dd) / (self.head_dim // 2))
        ratio = self.max_period / self.min_period
        return ratio**torch.linspace(0, 1, self.head_dim // 4, **dd) / ratio * self.max_period

    def init_weights(self):
        self.periods.data = self.compute_periods()

    def _settings(self) -> str:
        periods = f'base={self.base}' if self.base is not None else \
            f'min_period={self.min_period}, max_period={self.max_period}'
        return f'{periods}, {str(self.dtype).replace("torch.", "")}'

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        key = prefix + 'periods'
        saved = state_dict.get(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if saved is None:  # re-saved by transformers: rebuild this buffer, and only it
            if key in missing_keys:
                missing_keys.remove(key)
            self.init_weights()
            print_log(f'{key} is not in the checkpoint (transformers does not save it): recomputed from the RoPE '
                      f'settings ({self._settings()})', logger='current')
            return
        if saved.dtype == self.dtype or tuple(saved.shape) != tuple(self.periods.shape):
            return  # same dtype: the file's values as they are (released bf16); a wrong shape is reported by torch
        expected = self.compute_periods()
        if torch.allclose(saved.detach().double().cpu(), expected.double().cpu(), rtol=self.PERIODS_RTOL, atol=0):
            self.periods.data = expected  # e.g. released bf16 periods into an fp32 RoPE: fp32 periods, not bf16 ones
        else:
            print_log(f'{key} in the checkpoint ({saved.tolist()}) do not follow from the RoPE settings '
                      f'({self._settings()}: {expected.tolist()}); kept the checkpoint\'s values. Check '
                      f'pos_embed_rope_base / min / max period of the config.', logger='current', level=logging.WARNING)

    def forward(self, *, H: int, W: int):
        dd = dict(device=self.periods.device, dtype=self.dtype)
        if self.normalize_coords == 'separate':
            norm_h, norm_w = H, W
        else:
            norm_h = norm_w = max(H, W) if self.normalize_coords == 'max' else min(H, W)
        coords_h = torch.arange(0.5, H, **dd) / norm_h
        coords_w = torch.arange(0.5, W, **dd) / norm_w
        coords = torch.stack(torch.meshgrid(coords_h, coords_w, indexing='ij'), dim=-1).flatten(0, 1)  # [hw, 2]
        coords = 2.0 * coords - 1.0
        if self.training and self.shift_coords is not None:
            coords = coords + torch.empty(2, **dd).uniform_(-self.shift_coords, self.shift_coords)[None]
        if self.training and self.jitter_coords is not None:
            m = np.log(self.jitter_coords)
            coords = coords * torch.empty(2, **dd).uniform_(-m, m).exp()[None]
        if self.training and self.rescale_coords is not None:
            m = np.log(self.rescale_coords)
            coords = coords * torch.empty(1, **dd).uniform_(-m, m).exp()
        angles = 2 * math.pi * coords[:, :, None] / self.periods[None, None, :]  # [hw, 2, hd/4]
        angles = angles.flatten(1, 2).tile(2)  # [hw, hd]
        return torch.sin(angles), torch.cos(angles)
