"""Segmentation metric (paper Table 4): mmseg's ``IoUMetric`` plus per-class entries named by the classes."""
import numpy as np
from mmseg.evaluation import IoUMetric

from sapiens2.registry import METRICS


@METRICS.register_module()
class SegMetric(IoUMetric):
    """``aAcc``, ``mIoU``, ``mAcc`` exactly as ``mmseg.IoUMetric`` (which also logs the per-class table with the
    29 names), plus ``IoU.<class>`` and ``Acc.<class>`` (%, NaN for a class absent from prediction and target)."""

    def __init__(self, ignore_index: int = 255, iou_metrics=('mIoU', ), **kwargs):
        super().__init__(ignore_index=ignore_index, iou_metrics=list(iou_metrics), **kwargs)

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        inter, union, _, label = (sum(r[i] for r in results).cpu().numpy().astype(np.float64) for i in range(4))
        with np.errstate(invalid='ignore', divide='ignore'):
            iou, acc = inter / union * 100, inter / label * 100
        for name, i, a in zip(self.dataset_meta['classes'], iou, acc):
            metrics[f'IoU.{name}'] = round(float(i), 2)
            metrics[f'Acc.{name}'] = round(float(a), 2)
        return metrics
