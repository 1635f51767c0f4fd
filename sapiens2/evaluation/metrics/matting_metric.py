"""Matting metric: SAD, MSE, Grad and Conn as in the Deep Image Matting / Composition-1k evaluation code.

Alphas are in [0, 1]. The region is the trimap's unknown pixels (== 128) when the sample has ``gt_trimap``, else the
whole image (trimap-free evaluation, as P3M / AIM-500). Per image:
* ``sad``  = Σ |α̂ − α| / 1000;
* ``mse``  = Σ (α̂ − α)² / #region (in [0, 1] units; papers often print it × 10³);
* ``grad`` = Σ (|∇α̂| − |∇α|)² / 1000, both mattes min-max normalised (MATLAB ``mat2gray``), ∇ by first
  derivatives of a Gaussian (σ 1.4, kernel half-size ⌈σ·sqrt(−2 ln(sqrt(2π)·σ·0.01))⌉, unit L2 norm), replicated
  borders (:func:`gaussian_gradient_magnitude`);
* ``conn`` = Σ |φ(α̂) − φ(α)| / 1000 with thresholds 0, 0.1, ..., 1: l = the last threshold below which a pixel was
  still in the largest 4-connected component of {α̂ ≥ t} ∩ {α ≥ t} (1 if always), d = α − l,
  φ = 1 − d·[d ≥ 0.15] (:func:`connectivity_error`).
Averaged over images.
"""
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from scipy import ndimage

from sapiens2.registry import METRICS
from .dense_metric_utils import to_numpy


def gaussian_derivative_kernels(sigma: float = 1.4, epsilon: float = 1e-2):
    """(kx, ky): kx[i, j] = g(i − h)·g'(j − h) (derivative along x = columns), normalised to unit L2 norm; ky = kxᵀ."""
    half = int(np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * epsilon))))
    u = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-u ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))
    kx = g[:, None] * (-u * g / sigma ** 2)[None, :]
    kx /= np.sqrt((kx ** 2).sum())
    return kx, kx.T.copy()


def _mat2gray(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def gaussian_gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """H×W -> |∇α| with the Gaussian-derivative kernels (correlation, replicated borders)."""
    kx, ky = gaussian_derivative_kernels(sigma)
    a = alpha.astype(np.float64)
    gx = cv2.filter2D(a, -1, kx, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(a, -1, ky, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx ** 2 + gy ** 2)


def gradient_error(pred: np.ndarray, gt: np.ndarray, region: np.ndarray, sigma: float = 1.4) -> float:
    diff = gaussian_gradient_magnitude(_mat2gray(pred), sigma) - gaussian_gradient_magnitude(_mat2gray(gt), sigma)
    return float((diff ** 2)[region].sum() / 1000)


def connectivity_error(pred: np.ndarray, gt: np.ndarray, region: np.ndarray, step: float = 0.1) -> float:
    thresholds = np.linspace(0, 1, int(round(1 / step)) + 1)
    level = np.full(gt.shape, -1.0)
    four = ndimage.generate_binary_structure(2, 1)
    for prev, t in zip(thresholds[:-1], thresholds[1:]):
        labels, n = ndimage.label((pred >= t) & (gt >= t), structure=four)
        omega = np.zeros(gt.shape, bool)
        if n:
            sizes = np.bincount(labels.ravel())[1:]
            omega = labels == (int(np.argmax(sizes)) + 1)
        level[(level == -1) & ~omega] = prev
    level[level == -1] = 1.0
    d_pred, d_gt = pred - level, gt - level
    phi_pred = 1 - d_pred * (d_pred >= 0.15)
    phi_gt = 1 - d_gt * (d_gt >= 0.15)
    return float(np.abs(phi_pred - phi_gt)[region].sum() / 1000)


def matting_errors(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray] = None) -> dict:
    """pred / gt H×W alphas in [0, 1] (pred clipped), optional trimap H×W -> dict(sad, mse, grad, conn)."""
    if pred.shape != gt.shape:
        raise ValueError(f'matting metric: prediction {pred.shape} and target {gt.shape} differ')
    pred = np.clip(pred.astype(np.float64), 0, 1)
    gt = gt.astype(np.float64)
    region = np.ones(gt.shape, bool) if trimap is None else (trimap == 128)
    diff = (pred - gt)[region]
    return dict(sad=float(np.abs(diff).sum() / 1000), mse=float((diff ** 2).sum() / max(region.sum(), 1)),
                grad=gradient_error(pred, gt, region), conn=connectivity_error(pred, gt, region))


@METRICS.register_module()
class MattingMetric(BaseMetric):
    """SAD, MSE, Grad, Conn (see the module docstring) of ``pred_alpha`` against ``gt_alpha`` per image, averaged;
    keys ``matting/{sad,mse,grad,conn}``. Images whose trimap has no unknown pixel are skipped."""
    default_prefix = 'matting'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample.get('img_path', sample.get('sample_name', '?'))
            for key in ('pred_alpha', 'gt_alpha'):
                if key not in sample:
                    raise KeyError(f'MattingMetric: data sample {name} has no {key!r}')
            pred = to_numpy(sample['pred_alpha']['data'])[0]
            gt = to_numpy(sample['gt_alpha']['data'])[0]
            trimap = to_numpy(sample['gt_trimap']['data'])[0] if 'gt_trimap' in sample else None
            if trimap is not None and trimap.shape != gt.shape:
                raise ValueError(f'MattingMetric: sample {name} trimap {trimap.shape} and alpha {gt.shape} differ')
            if trimap is not None and not (trimap == 128).any():
                continue
            try:
                self.results.append(matting_errors(pred, gt, trimap))
            except ValueError as err:
                raise ValueError(f'{err} (sample {name})') from err

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise ValueError('MattingMetric: no image to evaluate (every trimap without unknown pixels?)')
        return {k: float(np.mean([r[k] for r in results])) for k in ('sad', 'mse', 'grad', 'conn')}
