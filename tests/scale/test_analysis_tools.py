"""The profiling behind tools/analysis (sapiens2.utils.complexity): fake-tensor profile (parameter counts, FLOPs,
activations) against the documented numbers (docs/architecture.md §1) and hand formulas, the memory arithmetic, and the masked-encoder path of the
benchmark."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, TINY_ARCH
from sapiens2.utils.complexity import Profile, build_model, load_config, profile_model
from sapiens2.utils.complexity import estimate_memory as estimate

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'analysis'))
from benchmark import masked_forward  # noqa: E402


@pytest.mark.parametrize('size,params', [('0.4b', 395_450_368), ('5b', 5_066_902_976)])
def test_profile_counts_spec_parameters_of_backbone_only_configs(size, params):
    cfg = load_config(osp.join(REPO_ROOT, 'configs', '_base_', 'models', f'sapiens2_{size}.py'))
    prof = profile_model(cfg, (64, 48))  # fake tensors: no 20 GB allocation for 5b
    assert prof.params == params  # docs/architecture.md §1 table


def test_profile_flops_and_activations_match_hand_formulas():
    C, L, F = TINY_ARCH['embed_dims'], TINY_ARCH['num_layers'], TINY_ARCH['feedforward_channels']
    cfg = Config(dict(backbone=dict(type='Sapiens2', arch=TINY_ARCH, out_type='featmap')))
    H, W = 64, 48
    prof = profile_model(cfg, (H, W), dtype=torch.float32)
    N = (H // 16) * (W // 16) + 9  # patch tokens + CLS + 8 storage tokens
    # per block: q, k, v, proj (C x C each, no GQA with < 17 blocks) and w12 (C -> 2F), w3 (F -> C); 2 FLOPs/MAC
    assert prof.linear_flops == L * 2 * N * (4 * C * C + C * 2 * F + F * C)
    assert prof.conv_flops == 2 * (H // 16) * (W // 16) * C * 3 * 16 * 16  # patch embed
    assert prof.attention_flops in (0, L * 4 * N * N * C)
    assert len(prof.act_blocks) == L and min(prof.act_blocks) > 0
    # a block saves at least its FFN hidden activations (2F + F values per token, fp32)
    assert min(prof.act_blocks) >= N * 3 * F * 4
    assert prof.block_input_bytes == N * C * 4
    assert prof.act_checkpointed == L * N * C * 4 + max(prof.act_blocks) + prof.act_other < prof.act_total


def test_memory_estimate_arithmetic():
    prof = Profile(params=1000, block_params=[300, 300], act_blocks=[50, 70], act_other=10, block_input_bytes=5)
    est = estimate(prof, gpus=4, batch=2)
    assert est[('DDP', False)]['total'] == 16 * 1000 + 2 * 1000 + 2 * (50 + 70 + 10)
    assert est[('FSDP', False)]['total'] == 16 * 1000 / 4 + 2 * 400 + 8 * 300 + 2 * 130
    assert est[('FSDP', True)]['activations'] == 2 * (2 * 5 + 70 + 10)


def test_masked_forward_without_masking_is_the_backbone():
    torch.manual_seed(0)
    cfg = Config(dict(backbone=dict(type='Sapiens2', arch=TINY_ARCH, out_type='raw')))
    backbone = build_model(cfg)
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(2, 3, 64, 48)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        torch.testing.assert_close(masked_forward(backbone, x, 0.0, g), backbone(x)[-1])
        out = masked_forward(backbone, x, 0.75, g)
    assert out.shape == (2, 9 + 3, TINY_ARCH['embed_dims'])  # 25% of the 12 patch tokens are kept
