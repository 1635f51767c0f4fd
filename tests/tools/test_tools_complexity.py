"""sapiens2.utils.complexity and tools/analysis/get_model_complexity.py: hand-computed MACs of a tiny model, the
paper's Table 1 on the meta device, and the --json contract on a backbone-only config."""
import json

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tools_test_helpers import TINY_CONFIG, run_tool

import sapiens2.models  # noqa: F401
from sapiens2.utils.complexity import build_on_meta, get_model_complexity

# Table 1 of the paper (TFLOPs at 1024x768)
PAPER_TFLOPS = {'0.4b': 1.260, '0.8b': 2.592, '1b': 4.715, '5b': 15.722}


def hand_count(C, L, heads, F, H, W, kv_heads=None, prefix=9):
    """Direct formulas for a Sapiens2 backbone: patch conv, per block wq/wk/wv/proj/w12/w3, attention matmuls."""
    hd = C // heads
    kv_heads = kv_heads or [heads] * L
    n = (H // 16) * (W // 16)
    N = n + prefix
    conv = n * C * 3 * 16 * 16
    linear = sum(N * (C * C + 2 * C * kv * hd + C * C + C * 2 * F + F * C) for kv in kv_heads)
    attention = L * heads * N * N * 2 * hd
    return conv, linear, attention


def test_tiny_model_matches_hand_count():
    init_default_scope('sapiens2')
    cfg = Config.fromfile(TINY_CONFIG)
    arch = cfg.model.backbone.arch
    model = build_on_meta(cfg.model.to_dict())
    assert next(model.parameters()).device.type == 'meta'
    res = get_model_complexity(model, (1, 3, 64, 48), forward=lambda m, x: m(x, mode='tensor'))
    conv, linear, attention = hand_count(arch.embed_dims, arch.num_layers, arch.num_heads,
                                         arch.feedforward_channels, 64, 48)
    head_conv = 4 * 3 * arch.embed_dims  # 1x1 conv to one channel on the 4x3 featmap
    assert res.conv_macs == conv + head_conv
    assert res.linear_macs == linear
    assert res.attention_macs == attention
    assert res.flops == conv + head_conv + linear
    cpu_model = build_model_cpu(cfg)
    assert res.params == sum(p.numel() for p in cpu_model.parameters())


def build_model_cpu(cfg):
    from sapiens2.registry import MODELS
    return MODELS.build(cfg.model)


def test_gqa_blocks_are_counted_with_their_kv_heads():
    init_default_scope('sapiens2')
    arch = dict(embed_dims=32, num_layers=18, num_heads=4, feedforward_channels=64, num_tokenizer_layers=1)
    model = build_on_meta(dict(type='Sapiens2', arch=arch, img_size=(64, 48)))
    res = get_model_complexity(model, (1, 3, 64, 48))
    kv = [4 if i < 8 or i >= 18 - 8 else 2 for i in range(18)]
    conv, linear, attention = hand_count(32, 18, 4, 64, 64, 48, kv_heads=kv)
    assert (res.conv_macs, res.linear_macs, res.attention_macs) == (conv, linear, attention)


@pytest.mark.parametrize('size', sorted(PAPER_TFLOPS))
def test_table1_flops_within_5_percent(size):
    init_default_scope('sapiens2')
    cfg = Config.fromfile(f'configs/_base_/models/sapiens2_{size}.py')
    res = get_model_complexity(build_on_meta(cfg.backbone.to_dict()), (1, 3, 1024, 768))
    assert res.flops / 1e12 == pytest.approx(PAPER_TFLOPS[size], rel=0.05)
    # the attention matmuls are reported apart; adding them would break the paper's numbers by > 15%
    assert res.flops_with_attention / 1e12 > PAPER_TFLOPS[size] * 1.15


def test_tool_json_on_backbone_only_5b_config():
    proc = run_tool(['tools/analysis/get_model_complexity.py', 'configs/_base_/models/sapiens2_5b.py', '--json'])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['params'] == 5_066_902_976  # docs/architecture.md §1 table, counted without allocating weights
    assert out['flops'] / 1e12 == pytest.approx(PAPER_TFLOPS['5b'], rel=0.05)
    assert out['input_shape'] == [1, 3, 1024, 768]


def test_tool_backbone_only_and_shape_on_task_config():
    proc = run_tool(['tools/analysis/get_model_complexity.py', TINY_CONFIG, '--backbone-only', '--shape', '128', '96',
                     '--json'])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    conv, linear, attention = hand_count(32, 2, 2, 64, 128, 96)
    assert (out['conv_macs'], out['linear_macs'], out['attention_macs']) == (conv, linear, attention)
    assert out['model'] == 'Sapiens2'
