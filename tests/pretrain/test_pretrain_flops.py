"""Masked student encoder FLOPs: the counting tool vs an analytic count, and the <= 30% target at 75% masking."""
import pytest

from conftest import TINY_ARCH
from sapiens2.utils.complexity import masked_encoder_flops as encoder_flops


def analytic_flops(C, L, H, F, n_patches, n_tokens, patch=16):
    """Multiply-adds x 2 of the patch-embed conv (all patches) and L blocks over n_tokens tokens (MHA, SwiGLU)."""
    hd = C // H
    conv = 2 * n_patches * C * 3 * patch * patch
    linear = 2 * n_tokens * (C * C + 2 * C * C + C * C + C * 2 * F + F * C)
    attention = 2 * 2 * H * n_tokens * n_tokens * hd
    return conv + L * (linear + attention)


def test_counted_flops_match_analytic_count():
    arch = dict(TINY_ARCH)
    r = encoder_flops(arch, size=(128, 96), mask_ratio=0.75)
    n = 8 * 6
    C, L, H, F = arch['embed_dims'], arch['num_layers'], arch['num_heads'], arch['feedforward_channels']
    assert r['unmasked'] == analytic_flops(C, L, H, F, n, 9 + n)
    assert r['masked'] == analytic_flops(C, L, H, F, n, 9 + n - 36)


def test_75_percent_masking_costs_at_most_30_percent():
    r = encoder_flops('sapiens2_0.1b', size=(1024, 768), mask_ratio=0.75)
    assert r['ratio'] <= 0.30
    assert r['ratio'] == pytest.approx(0.192, abs=0.002)  # the README figure


def test_4k_masked_encoder_tokenizes_the_visible_windows_only():
    """The 1B-4K tokenizer runs on every 4x4 patch window before masking in the unmasked forward; the masked
    student tokenizes the visible windows only (same result, tests/pretrain/test_pretrainer.py), so it stays
    under 30% too (67% when every window was tokenized)."""
    r = encoder_flops('sapiens2_1b', size=(4096, 3072), mask_ratio=0.75, use_tokenizer=True)
    assert r['ratio'] <= 0.30
    assert r['ratio'] == pytest.approx(0.238, abs=0.002)  # the README figure
