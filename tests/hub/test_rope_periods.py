"""RoPE periods on load: pos_embed_rope_dtype='fp32' stays fp32 with released (bf16) periods in the file, checkpoints
re-saved by transformers (no periods) load strictly with the periods recomputed, and nothing else is relaxed."""
import numpy as np
import pytest
import torch
from conftest import TINY_ARCH

import sapiens2.models.layers.rope as rope_module
from sapiens2.models.backbones import Sapiens2
from sapiens2.utils.checkpoint import CheckpointMismatchError, load_pretrained, save_safetensors

HEAD_DIM = TINY_ARCH['embed_dims'] // TINY_ARCH['num_heads']  # 16 -> 4 periods


def exact_periods(base=100.0, head_dim=HEAD_DIM) -> np.ndarray:
    """base^(2i / (head_dim / 2)), i < head_dim / 4, in float64 (docs/architecture.md §1.4)."""
    return base**(2 * np.arange(head_dim // 4) / (head_dim // 2))


@pytest.fixture
def logs(monkeypatch):
    """Messages of the RoPE module's print_log (MMEngine's logger writes to a stream captured elsewhere)."""
    seen = []
    monkeypatch.setattr(rope_module, 'print_log', lambda msg, *a, **k: seen.append((msg, k.get('level'))))
    return seen


def released_file(tmp_path, rope_dtype='bf16', base=100.0, drop=()):
    """A backbone file as released: random weights, periods in ``rope_dtype`` of ``base``, minus ``drop`` keys."""
    torch.manual_seed(0)
    src = Sapiens2(arch=TINY_ARCH, pos_embed_rope_base=base, pos_embed_rope_dtype=rope_dtype).eval()
    state = {k: v for k, v in src.state_dict().items() if k not in drop}
    path = str(tmp_path / 'backbone.safetensors')
    save_safetensors(state, path)
    return path, src


def test_fp32_rope_keeps_fp32_periods_when_the_file_holds_bf16(tmp_path, logs):
    path, released = released_file(tmp_path, 'bf16')
    assert released.rope_embed.periods.dtype == torch.bfloat16
    model = Sapiens2(arch=TINY_ARCH, pos_embed_rope_dtype='fp32')
    load_pretrained(model, path)
    periods = model.rope_embed.periods
    assert periods.dtype == torch.float32
    np.testing.assert_allclose(periods.numpy(), exact_periods(), rtol=1e-6)
    # the file's bf16-rounded values (what loading used to leave in the fp32 buffer) differ from them
    assert not torch.equal(periods, released.rope_embed.periods.float())
    # every other tensor is the file's
    for k, v in released.state_dict().items():
        if k != 'rope_embed.periods':
            assert torch.equal(model.state_dict()[k], v), k
    assert not logs


def test_bf16_rope_takes_the_files_periods_as_they_are(tmp_path):
    """Released numerics: a bf16 file into the default bf16 RoPE loads its periods bit for bit, even ones that differ
    from this code's own bf16 computation."""
    path, released = released_file(tmp_path, 'bf16')
    from safetensors.torch import load_file, save_file
    state = load_file(path)
    state['rope_embed.periods'] = (state['rope_embed.periods'].float() * 1.01).bfloat16()
    save_file(state, path)
    model = Sapiens2(arch=TINY_ARCH)  # bf16
    load_pretrained(model, path)
    assert torch.equal(model.rope_embed.periods, state['rope_embed.periods'])


def test_fp32_file_into_bf16_rope_gives_this_codes_bf16_periods(tmp_path):
    path, _ = released_file(tmp_path, 'fp32')
    model = Sapiens2(arch=TINY_ARCH)
    load_pretrained(model, path)
    assert model.rope_embed.periods.dtype == torch.bfloat16
    assert torch.equal(model.rope_embed.periods, Sapiens2(arch=TINY_ARCH).rope_embed.periods)


@pytest.mark.parametrize('rope_dtype', ['bf16', 'fp32'])
def test_checkpoint_without_periods_loads_strictly_with_recomputed_periods(tmp_path, logs, rope_dtype):
    """transformers re-saves the released layout without rope_embed.periods (it computes its frequencies)."""
    path, src = released_file(tmp_path, rope_dtype, drop=('rope_embed.periods', ))
    model = Sapiens2(arch=TINY_ARCH, pos_embed_rope_dtype=rope_dtype)
    model.rope_embed.periods.data.fill_(0)  # proves it is recomputed, not left alone
    load_pretrained(model, path)  # strict
    assert torch.equal(model.rope_embed.periods, src.rope_embed.periods)
    assert [m for m, _ in logs if 'rope_embed.periods is not in the checkpoint' in m and 'recomputed' in m]
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        assert torch.equal(model(x)[0], src(x)[0])
    # torch's own strict load_state_dict agrees (MMEngine's load_checkpoint goes through it)
    fresh = Sapiens2(arch=TINY_ARCH, pos_embed_rope_dtype=rope_dtype)
    from safetensors.torch import load_file
    assert fresh.load_state_dict(load_file(path), strict=True).missing_keys == []


def test_only_the_periods_are_relaxed(tmp_path):
    path, _ = released_file(tmp_path, drop=('rope_embed.periods', 'blocks.1.attn.wk.bias'))
    with pytest.raises(CheckpointMismatchError) as err:
        load_pretrained(Sapiens2(arch=TINY_ARCH), path)
    assert '1 missing key(s): blocks.1.attn.wk.bias' in str(err.value)
    assert 'rope_embed.periods' not in str(err.value)
    with pytest.raises(RuntimeError, match='blocks.1.attn.wk.bias'):
        from safetensors.torch import load_file
        Sapiens2(arch=TINY_ARCH).load_state_dict(load_file(path), strict=True)


def test_periods_of_other_rope_settings_are_kept_with_a_warning(tmp_path, logs):
    path, released = released_file(tmp_path, 'bf16', base=10000.0)
    model = Sapiens2(arch=TINY_ARCH, pos_embed_rope_dtype='fp32')  # base 100
    load_pretrained(model, path)
    assert torch.equal(model.rope_embed.periods, released.rope_embed.periods.float())
    assert [m for m, level in logs if 'do not follow from the RoPE settings' in m and level is not None]
