"""Albedo metric (paper Table 8): MAE, RMSE, PSNR, SSIM and gradient L1, per image then averaged."""
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy.ndimage import correlate1d

from sapiens2.registry import METRICS
from .dense_metric_utils import fetch_dense


def gaussian_kernel_1d(sigma: float = 1.5, size: int = 11) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-x ** 2 / (2 * sigma ** 2))
    return k / k.sum()


def _filter_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of an H×W array with the 1-D kernel k along both axes."""
    r = len(k) // 2
    y = correlate1d(correlate1d(x, k, axis=0, mode='constant'), k, axis=1, mode='constant')
    return y[r:-r, r:-r]


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, sigma: float = 1.5, win_size: int = 11) -> float:
    """Mean SSIM of two [C, H, W] images: Gaussian window (σ 1.5, 11×11), population statistics, K1 0.01, K2 0.03,
    averaged over the window positions fully inside the image and over channels."""
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f'SSIM needs images of at least {win_size}×{win_size}, got {a.shape[-2:]}')
    k = gaussian_kernel_1d(sigma, win_size)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for x, y in zip(a.astype(np.float64), b.astype(np.float64)):
        mx, my = _filter_valid(x, k), _filter_valid(y, k)
        vx = _filter_valid(x * x, k) - mx * mx
        vy = _filter_valid(y * y, k) - my * my
        cxy = _filter_valid(x * y, k) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        vals.append(s.mean())
    return float(np.mean(vals))


@METRICS.register_module()
class AlbedoMetric(BaseMetric):
    """Predictions are clipped to [0, 1]. Per image, over valid (mask) pixels: ``mae``, ``rmse``, ``psnr`` =
    10·log10(1 / MSE); ``ssim`` on the images with invalid pixels set to 0 in both (see :func:`ssim`);
    ``grad_l1`` = mean |∇Â − ∇A| over forward differences in x and y whose two pixels are valid. Averaged over
    images."""
    default_prefix = 'albedo'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred, gt, valid = fetch_dense(sample, 'albedo')
            if not valid.any():
                continue
            pred = np.clip(pred, 0.0, 1.0).astype(np.float64)
            gt = gt.astype(np.float64)
            d = (pred - gt)[:, valid]
            mse = float((d ** 2).mean())
            gx = (pred - gt)[:, :, 1:] - (pred - gt)[:, :, :-1]
            gy = (pred - gt)[:, 1:, :] - (pred - gt)[:, :-1, :]
            vx, vy = valid[:, 1:] & valid[:, :-1], valid[1:, :] & valid[:-1, :]
            grad = (np.abs(gx[:, vx]).sum() + np.abs(gy[:, vy]).sum()) / max(3 * (vx.sum() + vy.sum()), 1)
            self.results.append(dict(mae=float(np.abs(d).mean()), rmse=np.sqrt(mse),
                                     psnr=10 * np.log10(1.0 / max(mse, 1e-10)), ssim=ssim(pred * valid, gt * valid),
                                     grad_l1=float(grad)))

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise ValueError('AlbedoMetric: no image with valid pixels in the evaluated set')
        return {k: float(np.mean([r[k] for r in results])) for k in ('mae', 'rmse', 'psnr', 'ssim', 'grad_l1')}
