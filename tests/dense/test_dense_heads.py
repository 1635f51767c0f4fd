"""The dense heads reproduce the released heads (official-equivalence fixtures) and have the documented shapes."""
import json
import os.path as osp

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from conftest import FIXTURES


def build(cfg):
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    return MODELS.build(cfg)


@pytest.mark.parametrize('name', ['head_seg', 'head_normal', 'head_pointmap', 'head_albedo'])
def test_head_matches_released_fixture(name):
    path = osp.join(FIXTURES, f'{name}.safetensors')
    with safe_open(path, 'pt') as f:
        meta = f.metadata()
    data = load_file(path)
    head = build(dict(type=meta['type'], **json.loads(meta['kwargs'])))
    head.load_state_dict({k[3:]: v for k, v in data.items() if k.startswith('sd.')}, strict=True)
    head.eval()
    with torch.no_grad():
        outs = head(data['input'])
    outs = outs if isinstance(outs, tuple) else (outs, )
    refs = [data[f'out.{i}'] for i in range(len(outs))]
    assert f'out.{len(outs)}' not in data
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        scale = max(1.0, ref.abs().max().item())
        diff = (out - ref).abs() / scale
        assert diff.mean() <= 3e-5 and diff.max() <= 2e-3, (name, diff.mean().item(), diff.max().item())


def test_albedo_rms_norm_is_per_pixel_over_channels():
    from sapiens2.models.layers import RMSNorm2d
    norm = RMSNorm2d(5)
    with torch.no_grad():
        norm.norm.weight.copy_(torch.arange(1.0, 6.0))
    x = torch.randn(2, 5, 3, 4)
    expected = x / torch.sqrt((x ** 2).mean(1, keepdim=True) + 1e-6) * torch.arange(1.0, 6.0).view(1, 5, 1, 1)
    torch.testing.assert_close(norm(x), expected)


def test_pointmap_scale_branch_shape_error_names_the_sizes():
    head = build(dict(type='PointmapHead', in_channels=8, upsample_channels=(4, 4, 4, 4), conv_out_channels=(4, ),
                      conv_kernel_sizes=(3, ), scale_conv_out_channels=(4, 4), scale_conv_kernel_sizes=(1, 1),
                      scale_final_layer=(16, 4, 1)))
    pointmap, scale = head(torch.randn(2, 8, 8, 8))  # 8 -> 4 -> 2: 4 channels * 2 * 2 = 16 features
    assert pointmap.shape == (2, 3, 128, 128) and scale.shape == (2, 1)
    with pytest.raises(ValueError, match='scale_final_layer'):
        head(torch.randn(2, 8, 16, 16))
