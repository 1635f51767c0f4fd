"""Sapiens2 backbone behaviour beyond the release fixtures: sizes, options, errors, numerics."""
import math

import pytest
import torch

import sapiens2.models  # noqa: F401
from sapiens2.models.backbones import Sapiens2
from sapiens2.models.layers import RopePositionEmbedding, apply_rope
from sapiens2.registry import MODELS

# docs/architecture.md §1 table
PARAM_COUNTS = {
    'sapiens2_0.1b': 113_993_472,
    'sapiens2_0.4b': 395_450_368,
    'sapiens2_0.8b': 814_283_520,
    'sapiens2_1b': 1_455_474_176,
    'sapiens2_5b': 5_066_902_976,
}


@pytest.mark.parametrize('arch,count', PARAM_COUNTS.items())
def test_parameter_counts_match_spec(arch, count):
    with torch.device('meta'):
        model = Sapiens2(arch=arch)
    assert sum(p.numel() for p in model.parameters()) == count


def test_4k_tokenizer_parameter_count():
    with torch.device('meta'):
        model = Sapiens2(arch='sapiens2_1b', use_tokenizer=True)
    assert sum(p.numel() for p in model.parameters()) == 1_606_588_928


def test_state_dict_names_and_gqa_layout(tiny_gqa_arch):
    model = Sapiens2(arch=tiny_gqa_arch)
    sd = model.state_dict()
    C, hd = 32, 8
    assert sd['cls_token'].shape == (1, 1, C) and sd['storage_tokens'].shape == (1, 8, C)
    assert sd['patch_embed.projection.weight'].shape == (C, 3, 16, 16)
    assert sd['rope_embed.periods'].shape == (hd // 4, ) and sd['rope_embed.periods'].dtype == torch.bfloat16
    assert sd['ln1.weight'].shape == (C, )
    # blocks 0..7 and 10..17 full MHA (4 kv heads), blocks 8, 9 grouped (2 kv heads)
    for i in range(18):
        kv = 2 if i in (8, 9) else 4
        assert sd[f'blocks.{i}.attn.wk.weight'].shape == (kv * hd, C), i
        assert sd[f'blocks.{i}.attn.wv.bias'].shape == (kv * hd, ), i
        assert sd[f'blocks.{i}.attn.gamma.weight'].shape == (C, )
        assert sd[f'blocks.{i}.ffn.w12.weight'].shape == (2 * 64, C)
        assert sd[f'blocks.{i}.ffn.w3.weight'].shape == (C, 64)
    assert not any(k.startswith('tokenizer') for k in sd)


def test_out_types_and_indices(tiny_arch):
    x = torch.randn(2, 3, 64, 48)
    raw = Sapiens2(arch=tiny_arch, out_type='raw', out_indices=(0, -1)).eval()
    outs = raw(x)
    assert len(outs) == 2 and outs[1].shape == (2, 9 + 4 * 3, 32)
    feat = Sapiens2(arch=tiny_arch, out_type='featmap').eval()
    feat.load_state_dict(raw.state_dict())
    cls = Sapiens2(arch=tiny_arch, out_type='cls_token').eval()
    cls.load_state_dict(raw.state_dict())
    with torch.no_grad():
        (fm, ), (ct, ), r = feat(x), cls(x), raw(x)[1]
    assert fm.shape == (2, 32, 4, 3)
    # featmap is the patch tokens reshaped row-major; cls_token is token 0
    torch.testing.assert_close(fm.flatten(2).transpose(1, 2), r[:, 9:])
    torch.testing.assert_close(ct, r[:, 0])


def test_intermediate_outputs_are_not_normalised(tiny_arch):
    model = Sapiens2(arch=tiny_arch, out_indices=(0, 1)).eval()
    model.init_weights()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        first, last = model(x)
        tokens, hw = model.embed_patches(x)
        tokens = model.prepend_prefix_tokens(tokens)
        rope = model.rope_embed(H=hw[0], W=hw[1])
        after0 = model.blocks[0](tokens, rope)
        after1 = model.ln1(model.blocks[1](after0, rope))
    torch.testing.assert_close(first, after0)
    torch.testing.assert_close(last, after1)


def test_rope_bf16_numerics_by_hand():
    rope = RopePositionEmbedding(embed_dims=64, num_heads=4, base=100.0)  # hd 16 -> 4 periods
    expected_periods = torch.tensor([100.0**(2 * i / 8) for i in range(4)], dtype=torch.bfloat16)
    torch.testing.assert_close(rope.periods, expected_periods, rtol=1e-2, atol=0)
    sin, cos = rope(H=2, W=3)
    assert sin.shape == (6, 16) and sin.dtype == torch.bfloat16
    # position (row 1, col 2) of a 2x3 grid: coords (2*(1.5/2)-1, 2*(2.5/3)-1) = (0.5, 0.6667)
    p = rope.periods.float()
    angle_row = 2 * math.pi * 0.5 / p
    angle_col = 2 * math.pi * (2 / 3) / p
    expected = torch.cat([angle_row, angle_col]).repeat(2)
    torch.testing.assert_close(sin[5].float(), torch.sin(expected), atol=0.03, rtol=0)


def test_rope_fp32_option_and_prefix_untouched():
    rope32 = RopePositionEmbedding(embed_dims=64, num_heads=4, dtype='fp32')
    sin, cos = rope32(H=2, W=2)
    assert sin.dtype == torch.float32
    q, k = torch.randn(1, 4, 3 + 4, 16), torch.randn(1, 4, 3 + 4, 16)
    q2, k2 = apply_rope(q, k, (sin, cos))
    torch.testing.assert_close(q2[:, :, :3], q[:, :, :3])  # prefix tokens are not rotated
    # rotation preserves the norm of each (x_i, x_{i+hd/2}) pair
    torch.testing.assert_close(q2[:, :, 3:].norm(dim=-1), q[:, :, 3:].norm(dim=-1))
    # per-sample rope ([B, n, hd]) equals the shared one when every sample uses the same positions
    q3, _ = apply_rope(q, k, (sin[None], cos[None]))
    torch.testing.assert_close(q3, q2)


def test_fp32_rope_differs_from_bf16_only_slightly(tiny_arch):
    bf16 = Sapiens2(arch=tiny_arch).eval()
    fp32 = Sapiens2(arch=tiny_arch, pos_embed_rope_dtype='fp32').eval()
    sd = bf16.state_dict()
    sd['rope_embed.periods'] = sd['rope_embed.periods'].float()
    fp32.load_state_dict(sd)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b = bf16(x)[0], fp32(x)[0]
    assert not torch.equal(a, b)
    torch.testing.assert_close(a, b, atol=5e-2, rtol=5e-2)


def test_tokenizer_chunking_and_checkpointing_do_not_change_results(tiny_arch):
    torch.manual_seed(0)
    full = Sapiens2(arch=tiny_arch, use_tokenizer=True, out_type='featmap')
    full.init_weights()
    chunked = Sapiens2(arch=tiny_arch, use_tokenizer=True, out_type='featmap', tokenizer_chunk_size=5)
    chunked.load_state_dict(full.state_dict())
    x = torch.randn(2, 3, 128, 128)  # 8x8 patches -> 2x2 windows per image, 8 windows in all
    full.eval(), chunked.eval()
    with torch.no_grad():
        torch.testing.assert_close(full(x)[0], chunked(x)[0])
    # training mode: chunks are activation-checkpointed; gradients equal the plain computation's
    full.train(), chunked.train()
    full(x)[0].square().sum().backward()
    chunked(x)[0].square().sum().backward()
    for (name, p), q in zip(full.named_parameters(), chunked.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_block_checkpointing_gives_same_gradients(tiny_arch):
    torch.manual_seed(0)
    plain = Sapiens2(arch=tiny_arch, out_type='featmap')
    plain.init_weights()
    cp = Sapiens2(arch=tiny_arch, out_type='featmap', with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 48, 32)
    plain(x)[0].sum().backward()
    cp(x)[0].sum().backward()
    for p, q in zip(plain.parameters(), cp.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_frozen_stages(tiny_arch):
    model = Sapiens2(arch=tiny_arch, frozen_stages=1, use_tokenizer=True)
    model.train()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert {'cls_token', 'storage_tokens', 'patch_embed.projection.weight', 'tokenizer.w_cls',
            'blocks.0.attn.wq.weight'} <= frozen
    assert not any(n.startswith('blocks.1.') or n == 'ln1.weight' for n in frozen)
    assert not model.blocks[0].training and model.blocks[1].training
    all_frozen = Sapiens2(arch=tiny_arch, frozen_stages=2)
    assert not any(p.requires_grad for p in all_frozen.parameters())


def test_layer_depth(tiny_arch):
    model = Sapiens2(arch=tiny_arch, use_tokenizer=True)  # L = 2 -> ids 0..3
    assert model.get_layer_depth('cls_token') == (0, 4)
    assert model.get_layer_depth('tokenizer.blocks.0.ln1.weight') == (0, 4)
    assert model.get_layer_depth('blocks.0.attn.wq.weight') == (1, 4)
    assert model.get_layer_depth('blocks.1.ffn.w3.bias') == (2, 4)
    assert model.get_layer_depth('ln1.weight') == (3, 4)
    assert model.get_layer_depth('backbone.blocks.1.ln2.weight', prefix='backbone.') == (2, 4)


def test_clear_errors(tiny_arch):
    with pytest.raises(ValueError, match=r"unknown Sapiens2 arch 'sapiens2_2b'.*sapiens2_0\.1b.*sapiens2_5b"):
        Sapiens2(arch='sapiens2_2b')
    with pytest.raises(ValueError, match='lacks'):
        Sapiens2(arch=dict(embed_dims=32))
    with pytest.raises(ValueError, match=r'input 50x48 is not divisible by 16'):
        Sapiens2(arch=tiny_arch)(torch.randn(1, 3, 50, 48))
    with pytest.raises(ValueError, match=r'not divisible by 64 .*tokenizer window'):
        Sapiens2(arch=tiny_arch, use_tokenizer=True)(torch.randn(1, 3, 96, 64))
    with pytest.raises(ValueError, match='out_type'):
        Sapiens2(arch=tiny_arch, out_type='tokens')
    with pytest.raises(ValueError, match='out of range'):
        Sapiens2(arch=tiny_arch, out_indices=5)


def test_built_from_registry_and_pretrained_init(tmp_path, tiny_arch):
    from sapiens2.utils import CheckpointMismatchError, save_safetensors
    src = Sapiens2(arch=tiny_arch)
    src.init_weights()
    path = tmp_path / 'bb.safetensors'
    save_safetensors(src.state_dict(), str(path))
    model = MODELS.build(dict(type='Sapiens2', arch=tiny_arch,
                              init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)
    # a checkpoint of another width is rejected with the offending keys named
    other = Sapiens2(arch=dict(tiny_arch, embed_dims=48, num_heads=3))
    bad = tmp_path / 'bad.safetensors'
    save_safetensors(other.state_dict(), str(bad))
    model = Sapiens2(arch=tiny_arch, init_cfg=dict(type='Pretrained', checkpoint=str(bad)))
    with pytest.raises(CheckpointMismatchError, match=r'shape mismatch cls_token: checkpoint \[1, 1, 48\]'):
        model.init_weights()


def test_default_init_statistics():
    torch.manual_seed(0)
    model = Sapiens2(arch=dict(embed_dims=128, num_layers=1, num_heads=2, feedforward_channels=256,
                               num_tokenizer_layers=1))
    model.init_weights()
    w = model.blocks[0].ffn.w12.weight
    assert abs(w.std().item() - 0.02) < 0.002
    assert torch.all(model.blocks[0].ffn.w12.bias == 0)
    assert torch.allclose(model.blocks[0].attn.gamma.weight, torch.full((128, ), 1e-4))
    assert torch.all(model.blocks[0].ln1.weight == 1)
