"""Surface-normal metric (paper Table 6): angular error statistics over mask pixels."""
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from sapiens2.registry import METRICS
from .dense_metric_utils import fetch_dense


@METRICS.register_module()
class NormalMetric(BaseMetric):
    """Angle between unit-normalised prediction and target, in degrees, pooled over all valid pixels of the set.

    Reports ``mean``, ``median``, ``rmse`` and ``within_<t>`` (% of pixels with error < t) for t in
    ``thresholds`` (5, 11.25, 22.5, 30). The per-pixel errors are kept (float32, about 1 MB per 1024×768 image
    with a 30 % person mask) so that the median is exact.
    """
    default_prefix = 'normal'

    def __init__(self, thresholds: Sequence[float] = (5.0, 11.25, 22.5, 30.0), **kwargs):
        super().__init__(**kwargs)
        self.thresholds = tuple(thresholds)

    @staticmethod
    def angular_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        """pred / gt [3, ...] -> degrees [...]."""
        p = pred / np.maximum(np.linalg.norm(pred, axis=0, keepdims=True), 1e-12)
        g = gt / np.maximum(np.linalg.norm(gt, axis=0, keepdims=True), 1e-12)
        return np.degrees(np.arccos(np.clip((p * g).sum(0), -1.0, 1.0)))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred, gt, valid = fetch_dense(sample, 'normal')
            valid &= np.linalg.norm(gt, axis=0) > 1e-6
            err = self.angular_error(pred.astype(np.float64), gt.astype(np.float64))[valid]
            self.results.append(dict(n=err.size, sum=err.sum(), sum_sq=(err ** 2).sum(), errors=err.astype(np.float32),
                                     within=[int((err < t).sum()) for t in self.thresholds]))

    def compute_metrics(self, results: list) -> dict:
        n = sum(r['n'] for r in results)
        if n == 0:
            raise ValueError('NormalMetric: no valid pixels in the evaluated set')
        median = np.median(np.concatenate([r['errors'] for r in results]).astype(np.float64))
        out = dict(mean=sum(r['sum'] for r in results) / n, median=float(median),
                   rmse=float(np.sqrt(sum(r['sum_sq'] for r in results) / n)))
        for i, t in enumerate(self.thresholds):
            out[f'within_{t:g}'] = 100.0 * sum(r['within'][i] for r in results) / n
        return {k: float(v) for k, v in out.items()}
