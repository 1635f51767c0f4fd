"""Matting losses against hand computations and an independent (scipy) Laplacian pyramid; the head dispatches
each loss to its inputs."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement, PixelData
from scipy import ndimage

from sapiens2.models.losses import AlphaLoss, CompositionLoss, GradientLoss, LaplacianLoss


def test_alpha_loss_by_hand():
    pred = torch.tensor([[[[0.0, 0.5], [1.0, 0.2]]]])
    gt = torch.tensor([[[[0.0, 1.0], [0.5, 1.0]]]])
    assert AlphaLoss()(pred, gt).item() == pytest.approx((0 + 0.5 + 0.5 + 0.8) / 4)
    # unknown region: only the pixel with 0 < α < 1 (top-right is 1.0, bottom-left 0.5)
    assert AlphaLoss(unknown_only=True)(pred, gt).item() == pytest.approx(0.5)
    # grown by one pixel it covers the whole 2x2 image
    assert AlphaLoss(unknown_only=True, unknown_dilation=1)(pred, gt).item() == pytest.approx(1.8 / 4)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert AlphaLoss(loss_weight=2.0)(pred, gt, mask).item() == pytest.approx(2 * 0.8 / 2)


def _targets(alpha, image, foreground=None):
    b = alpha.shape[0]
    has = torch.tensor([foreground is not None] * b)
    return dict(alpha=alpha, image=image, foreground=foreground if foreground is not None else torch.zeros_like(image),
                has_foreground=has, mask=torch.ones_like(alpha))


def test_composition_loss_with_a_foreground_is_zero_for_the_truth_and_counts_an_alpha_error():
    g = torch.Generator().manual_seed(0)
    alpha = torch.rand(1, 1, 6, 5, generator=g)
    alpha[..., 0, :] = 1.0  # opaque row: background hidden
    fg, bg = torch.rand(1, 3, 6, 5, generator=g), torch.rand(1, 3, 6, 5, generator=g)
    image = alpha * fg + (1 - alpha) * bg
    targets = _targets(alpha, image, fg)
    loss = CompositionLoss()
    assert loss(alpha * fg, alpha, targets).item() == pytest.approx(0, abs=1e-5)
    # α̂ = α + 0.1 in one translucent pixel: Î − I = −0.1·B there
    pred_alpha = alpha.clone()
    pred_alpha[0, 0, 3, 2] += 0.1
    expected = (0.1 * bg[0, :, 3, 2]).abs().mean().item() / 30
    assert loss(alpha * fg, pred_alpha, targets).item() == pytest.approx(expected, rel=1e-4)


def test_composition_loss_without_a_foreground_composites_over_the_image():
    g = torch.Generator().manual_seed(1)
    alpha, image = torch.rand(2, 1, 4, 4, generator=g), torch.rand(2, 3, 4, 4, generator=g)
    pred_fg, pred_alpha = torch.rand(2, 3, 4, 4, generator=g), torch.rand(2, 1, 4, 4, generator=g)
    got = CompositionLoss()(pred_fg, pred_alpha, _targets(alpha, image))
    f, a, i = pred_fg.numpy(), pred_alpha.numpy(), image.numpy()
    assert got.item() == pytest.approx(np.abs(f - a * i).mean(), rel=1e-5)


def scipy_laplacian_pyramid(x: np.ndarray, levels: int):
    """Independent reference on one H×W map: binomial 5×5 blur with mirrored borders (scipy 'mirror')."""
    k1 = np.array([1, 4, 6, 4, 1], np.float64) / 16
    blur = lambda a: ndimage.correlate(a, np.outer(k1, k1), mode='mirror')  # noqa: E731
    out = []
    for _ in range(levels - 1):
        x = x[:x.shape[0] // 2 * 2, :x.shape[1] // 2 * 2]
        down = blur(x)[::2, ::2]
        up = np.zeros_like(x)
        up[::2, ::2] = 4 * down
        out.append(x - blur(up))
        x = down
    return out + [x]


def test_laplacian_loss_against_scipy_pyramid():
    g = np.random.default_rng(0)
    pred, gt = g.random((1, 1, 33, 26)), g.random((1, 1, 33, 26))
    got = LaplacianLoss(levels=3)(torch.from_numpy(pred), torch.from_numpy(gt)).item()
    pp, pg = scipy_laplacian_pyramid(pred[0, 0], 3), scipy_laplacian_pyramid(gt[0, 0], 3)
    assert [p.shape for p in pp] == [(32, 26), (16, 12), (8, 6)]  # odd sizes cropped before a level
    expected = sum(2 ** i * np.abs(a - b).mean() for i, (a, b) in enumerate(zip(pp, pg))) / 3
    assert got == pytest.approx(expected, rel=1e-6)
    assert LaplacianLoss(levels=1)(torch.from_numpy(pred), torch.from_numpy(gt)).item() == pytest.approx(
        np.abs(pred - gt).mean())
    assert LaplacianLoss()(torch.from_numpy(gt), torch.from_numpy(gt)).item() == 0


def test_head_applies_pixel_losses_to_alpha_and_composition_to_foreground():
    from sapiens2.models.heads import MattingHead
    torch.manual_seed(0)
    head = MattingHead(in_channels=8, upsample_channels=(8, ), conv_out_channels=(4, ), conv_kernel_sizes=(3, ),
                       loss_decode=[dict(type='AlphaLoss'), dict(type='GradientLoss', mode='l1'),
                                    dict(type='CompositionLoss')])
    feats = torch.randn(2, 8, 5, 4)
    samples = []
    for i in range(2):
        ds = BaseDataElement(metainfo=dict(img_path=f'{i}.png'))
        ds.gt_alpha = PixelData(data=torch.rand(1, 20, 16))  # 2x larger than the output: predictions are resized
        ds.gt_image = PixelData(data=torch.randint(0, 256, (3, 20, 16), dtype=torch.uint8))
        samples.append(ds)
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_alpha', 'loss_grad', 'loss_comp'}
    out = torch.nn.functional.interpolate(head(feats), size=(20, 16), mode='bilinear', align_corners=False)
    gt = torch.stack([ds.gt_alpha.data for ds in samples])
    image = torch.stack([ds.gt_image.data for ds in samples]).float() / 255
    assert losses['loss_alpha'].item() == pytest.approx((out[:, 3:] - gt).abs().mean().item(), rel=1e-5)
    assert losses['loss_grad'].item() == pytest.approx(GradientLoss(mode='l1')(out[:, 3:], gt).item(), rel=1e-5)
    comp = (out[:, :3] + (1 - out[:, 3:]) * image - image).abs().mean()
    assert losses['loss_comp'].item() == pytest.approx(comp.item(), rel=1e-5)
    sum(losses.values()).backward()
    assert head.conv_matting.weight.grad.abs().sum() > 0
    del samples[1].gt_image
    with pytest.raises(KeyError, match='gt_image'):
        head.loss(feats, samples)
    del samples[0].gt_alpha
    with pytest.raises(KeyError, match=r'sample 0\.png has no gt_alpha'):
        head.loss(feats, samples)
