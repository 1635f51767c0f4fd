"""SAD / MSE / Grad / Conn against independent computations (numpy, scipy.ndimage, a hand-worked case)."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from sapiens2.evaluation.metrics import MattingMetric
from sapiens2.evaluation.metrics.matting_metric import connectivity_error, gaussian_derivative_kernels, matting_errors


def _pair(seed=0, shape=(40, 30)):
    g = np.random.default_rng(seed)
    gt = ndimage.gaussian_filter((g.random(shape) > 0.5).astype(np.float64), 2)
    gt = (gt - gt.min()) / (gt.max() - gt.min())
    pred = np.clip(gt + 0.1 * g.standard_normal(shape), 0, 1)
    trimap = np.where(gt > 0.95, 255, np.where(gt < 0.05, 0, 128)).astype(np.uint8)
    return pred, gt, trimap


def test_sad_and_mse_over_the_unknown_region():
    pred, gt, trimap = _pair()
    got = matting_errors(pred, gt, trimap)
    unknown = trimap == 128
    assert got['sad'] == pytest.approx(np.sum(np.abs(pred - gt) * unknown) / 1000)
    assert got['mse'] == pytest.approx(np.sum((pred - gt) ** 2 * unknown) / np.count_nonzero(unknown))
    whole = matting_errors(pred, gt)  # no trimap: the whole image
    assert whole['sad'] == pytest.approx(np.abs(pred - gt).sum() / 1000)
    assert matting_errors(gt, gt, trimap) == dict(sad=0, mse=0, grad=0, conn=0)


def test_gradient_error_against_scipy_convolution():
    pred, gt, trimap = _pair(1)
    # DIM's gaussgradient: σ 1.4 -> half size ceil(1.4·sqrt(-2·ln(sqrt(2π)·1.4·0.01))) = ceil(3.62) = 4
    x = np.arange(-4, 5)
    g = np.exp(-x ** 2 / (2 * 1.4 ** 2))
    hx = np.outer(g, -x * g)  # rows: Gaussian, columns: its derivative (constant factors cancel in the norm)
    hx /= np.linalg.norm(hx)
    assert np.allclose(gaussian_derivative_kernels(1.4)[0], hx)

    def magnitude(a):  # MATLAB imfilter(..., 'replicate', 'conv') = scipy convolve with 'nearest' borders
        a = (a - a.min()) / (a.max() - a.min())
        return np.hypot(ndimage.convolve(a, hx, mode='nearest'), ndimage.convolve(a, hx.T, mode='nearest'))

    expected = np.sum((magnitude(pred) - magnitude(gt)) ** 2 * (trimap == 128)) / 1000
    assert expected > 0
    assert matting_errors(pred, gt, trimap)['grad'] == pytest.approx(expected, rel=1e-9)


def test_connectivity_error_hand_worked():
    # 1×5 row. Intersections {α̂ ≥ t} ∩ {α ≥ t}: t ≤ 0.5: pixels {0, 1, 2} and {4} -> largest {0, 1, 2}: pixels 3, 4
    # leave at t = 0.1 (l = 0); t = 0.6 ... 1: {0, 1} and {4} ... -> pixel 2 leaves at 0.6 (l = 0.5); 0, 1 stay
    # (l = 1). d_gt = α − l = (0, 0, 0.5, 0, 0.65), d_pred = (0, 0, 0, 0, 0.65): φ differs by 0.5 at pixel 2.
    gt = np.array([[1.0, 1.0, 1.0, 0.0, 0.65]])
    pred = np.array([[1.0, 1.0, 0.5, 0.0, 0.65]])
    everywhere = np.ones_like(gt, bool)
    assert connectivity_error(pred, gt, everywhere) == pytest.approx(0.5 / 1000)
    # α − l = 0.12 < 0.15 does not count: φ = 1 on both sides
    gt2 = np.array([[1.0, 1.0, 0.62, 0.0, 0.65]])
    assert connectivity_error(pred, gt2, everywhere) == pytest.approx(0.0)
    # outside the region nothing counts
    assert connectivity_error(pred, gt, np.array([[1, 1, 0, 1, 1]], bool)) == 0
    # 4-connectivity: pixel (2, 2) touches the opaque block only diagonally, so it is its own component and leaves
    # at t = 0.1 (l = 0): φ_gt = 1 − 0.5, φ_pred = 1 − 0.25 -> 0.25 (with 8-connectivity it would stay until
    # t = 0.3, l = 0.2: φ_gt = 0.7, φ_pred = 1 -> 0.3)
    gt3 = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    pred3 = gt3.copy()
    pred3[2, 2] = 0.25
    assert connectivity_error(pred3, gt3, np.ones((3, 3), bool)) == pytest.approx(0.25 / 1000)


def test_metric_averages_images_and_uses_the_trimap():
    samples = []
    for seed in (2, 3):
        pred, gt, trimap = _pair(seed)
        samples.append(dict(img_path=f'{seed}.png', pred_alpha=dict(data=torch.from_numpy(pred)[None].float()),
                            gt_alpha=dict(data=torch.from_numpy(gt)[None].float()),
                            gt_trimap=dict(data=torch.from_numpy(trimap)[None])))
    metric = MattingMetric()
    metric.process({}, samples)
    got = metric.compute_metrics(metric.results)
    per_image = [matting_errors(s['pred_alpha']['data'][0].numpy(), s['gt_alpha']['data'][0].numpy(),
                                s['gt_trimap']['data'][0].numpy()) for s in samples]
    for key in ('sad', 'mse', 'grad', 'conn'):
        assert got[key] == pytest.approx(np.mean([e[key] for e in per_image]), rel=1e-5)
    bad = dict(samples[0], gt_trimap=dict(data=torch.zeros(1, 5, 5, dtype=torch.uint8)))
    with pytest.raises(ValueError, match='trimap'):
        MattingMetric().process({}, [bad])


def test_metric_skips_images_without_unknown_pixels_and_refuses_an_empty_evaluation():
    pred, gt, trimap = _pair(4)
    known = np.where(gt > 0.5, 255, 0).astype(np.uint8)  # no 128: nothing to evaluate in this image

    def sample(tri):
        return dict(img_path='x.png', pred_alpha=dict(data=torch.from_numpy(pred)[None].float()),
                    gt_alpha=dict(data=torch.from_numpy(gt)[None].float()),
                    gt_trimap=dict(data=torch.from_numpy(tri)[None]))

    metric = MattingMetric()
    metric.process({}, [sample(known), sample(trimap)])
    assert len(metric.results) == 1
    assert metric.compute_metrics(metric.results)['sad'] == pytest.approx(matting_errors(
        pred.astype(np.float32), gt.astype(np.float32), trimap)['sad'], rel=1e-5)
    empty = MattingMetric()
    empty.process({}, [sample(known)])
    with pytest.raises(ValueError, match='no image to evaluate'):
        empty.compute_metrics(empty.results)
