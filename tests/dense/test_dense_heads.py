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


def test_pointmap_head_loss_gives_the_scale_loss_the_scale_and_the_others_the_pixels():
    """``PointmapHead.loss``: ``ScaleL1Loss`` on (scale, metainfo ``gt_scale``), the pixel losses on the pointmap
    resized to the target and masked by ``gt_mask``; values against hand computations."""
    from mmengine.structures import BaseDataElement, PixelData
    head = build(dict(type='PointmapHead', in_channels=8, upsample_channels=(4, 4, 4, 4), conv_out_channels=(4, ),
                      conv_kernel_sizes=(3, ), scale_conv_out_channels=(4, 4), scale_conv_kernel_sizes=(1, 1),
                      scale_final_layer=(16, 4, 1),
                      loss_decode=[dict(type='PixelRegressionLoss', mode='l1'), dict(type='ScaleL1Loss')]))
    g = torch.Generator().manual_seed(0)
    pointmap, gt = torch.rand(2, 3, 4, 4, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    scale = torch.tensor([[2.0], [3.0]])
    head.forward = lambda feats: (pointmap, scale)
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:6, 1:7] = 1
    samples = [BaseDataElement(gt_pointmap=PixelData(data=gt[b]), gt_mask=PixelData(data=mask[b]),
                               metainfo=dict(gt_scale=s)) for b, s in enumerate((2.5, 1.0))]
    losses = head.loss(torch.zeros(2, 8, 8, 8), samples)
    assert list(losses) == ['loss_pixel', 'loss_scale']
    assert losses['loss_scale'].item() == pytest.approx((0.5 + 2.0) / 2)
    up = torch.nn.functional.interpolate(pointmap, size=(8, 8), mode='bilinear', align_corners=False)
    l1 = (up - gt).abs().mean(1)[:, 2:6, 1:7]  # mean over xyz, person pixels only
    assert losses['loss_pixel'].item() == pytest.approx(l1.mean().item(), rel=1e-5)
