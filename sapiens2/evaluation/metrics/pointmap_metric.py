"""Pointmap metric (paper Table 5): errors in canonical (focal-normalised) units and in metric units."""
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from sapiens2.registry import METRICS
from .dense_metric_utils import fetch_dense


@METRICS.register_module()
class PointmapMetric(BaseMetric):
    """Pooled over all valid pixels of the set, with e = P̂ − P (canonical pointmaps [3, H, W]):
    ``l2`` = mean ‖e‖₂, ``rmse`` = sqrt(mean ‖e‖₂²), ``abs_x/abs_y/abs_z`` = mean |e_x|, |e_y|, |e_z|.
    With ``pred_scale`` and ``gt_scale`` (768 / fx) in the sample: ``metric_l2`` / ``metric_rmse`` on P̂/ŝ vs P/s
    (metres when depth is in metres) and ``scale_abs`` = mean |ŝ − s| over samples."""
    default_prefix = 'pointmap'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred, gt, valid = fetch_dense(sample, 'pointmap')
            e = (pred - gt)[:, valid].astype(np.float64)  # [3, N]
            dist = np.linalg.norm(e, axis=0)
            res = dict(n=dist.size, l2=dist.sum(), sq=(dist ** 2).sum(), abs=np.abs(e).sum(1))
            if 'pred_scale' in sample and 'gt_scale' in sample:
                ps, gs = float(sample['pred_scale']), float(sample['gt_scale'])
                em = pred[:, valid].astype(np.float64) / ps - gt[:, valid].astype(np.float64) / gs
                dm = np.linalg.norm(em, axis=0)
                res.update(metric_l2=dm.sum(), metric_sq=(dm ** 2).sum(), scale_abs=abs(ps - gs))
            self.results.append(res)

    def compute_metrics(self, results: list) -> dict:
        n = sum(r['n'] for r in results)
        if n == 0:
            raise ValueError('PointmapMetric: no valid pixels in the evaluated set')
        abs_sum = np.sum([r['abs'] for r in results], axis=0)
        out = dict(l2=sum(r['l2'] for r in results) / n, rmse=np.sqrt(sum(r['sq'] for r in results) / n),
                   abs_x=abs_sum[0] / n, abs_y=abs_sum[1] / n, abs_z=abs_sum[2] / n)
        scaled = [r for r in results if 'metric_l2' in r]
        if scaled:
            ns = sum(r['n'] for r in scaled)
            out.update(metric_l2=sum(r['metric_l2'] for r in scaled) / max(ns, 1),
                       metric_rmse=np.sqrt(sum(r['metric_sq'] for r in scaled) / max(ns, 1)),
                       scale_abs=np.mean([r['scale_abs'] for r in scaled]))
        return {k: float(v) for k, v in out.items()}
