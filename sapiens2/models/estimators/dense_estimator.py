"""Dense task models (segmentation, normal, pointmap, albedo): ``backbone`` + ``decode_head`` (released layout).

Data samples:
* segmentation: mmseg ``SegDataSample`` with ``gt_sem_seg`` (labels [1, H, W]); predictions add ``seg_logits``
  ([K, h, w]) and ``pred_sem_seg`` ([1, h, w]) at the original image size, as ``mmseg.IoUMetric`` expects.
* regression: ``BaseDataElement`` with ``gt_<task>`` (PixelData [3, H, W]), ``gt_mask`` (PixelData [1, H, W]) and, for
  the pointmap, metainfo ``gt_scale`` (768 / fx); predictions add ``pred_<task>`` (and ``pred_scale``).

Predictions are mapped back to the original image with the exact inverse of the test resize: the letterbox padding
``pad_param`` = (top, bottom, left, right) recorded in the metainfo is cropped off and the rest is resized to
``ori_shape`` (bilinear; for a stretch resize there is no padding). As in the released demos, normals are
unit-normalised at the network resolution before that (and again after it: the direction is the demo's), and a
pointmap that is enlarged back to a larger original is first smoothed (``test_cfg.upsample_smoothing``).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

from sapiens2.registry import MODELS
from ..heads.resize import resize_like
from .base_estimator import BaseEstimator

# the released pointmap demo's smoothing before an upsampling resize: a 3×3 Gaussian (σ 0.8), 4 passes
RELEASE_UPSAMPLE_SMOOTHING = dict(kernel_size=3, sigma=0.8, iters=4)


def smooth_before_upsampling(pred: torch.Tensor, size: Sequence[int], kernel_size: int = 3, sigma: float = 0.8,
                             iters: int = 4) -> torch.Tensor:
    """[C, h, w] -> ``iters`` passes of a ``kernel_size`` Gaussian blur (σ ``sigma``, reflected borders) when the
    map is about to be enlarged to ``size`` (H > h or W > w), else unchanged."""
    if not (size[0] > pred.shape[-2] or size[1] > pred.shape[-1]):
        return pred
    from torchvision.transforms.functional import gaussian_blur
    for _ in range(int(iters)):
        pred = gaussian_blur(pred, kernel_size=[kernel_size, kernel_size], sigma=[sigma, sigma])
    return pred


def invert_test_resize(pred: torch.Tensor, metainfo: dict, upsample_smoothing: Optional[dict] = None) -> torch.Tensor:
    """pred [C, H_in, W_in] at the network input -> [C, H_ori, W_ori]: crop ``pad_param``, resize to ``ori_shape``
    (bilinear); with ``upsample_smoothing`` (kwargs of :func:`smooth_before_upsampling`) the cropped map is smoothed
    first when the resize enlarges it."""
    top, bottom, left, right = (int(v) for v in metainfo.get('pad_param', (0, 0, 0, 0)))
    h, w = pred.shape[-2:]
    pred = pred[:, top:h - bottom, left:w - right]
    ori = metainfo.get('ori_shape', pred.shape[-2:])
    if upsample_smoothing:
        pred = smooth_before_upsampling(pred, ori[:2], **upsample_smoothing)
    return resize_like(pred[None], ori[:2])[0]


@MODELS.register_module()
class SegEstimator(BaseEstimator):
    """Body-part segmentation: ``decode_head.loss`` on the labels; the predicted logits are upsampled (bilinear) to
    the input and mapped back to the original image."""

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        logits = self.decode_head.predict(self.extract_feat(inputs), data_samples, self.test_cfg)
        logits = resize_like(logits, inputs.shape[-2:])
        for ds, lg in zip(data_samples, logits):
            lg = invert_test_resize(lg, ds.metainfo)
            ds.seg_logits = PixelData(data=lg)
            ds.pred_sem_seg = PixelData(data=lg.argmax(0, keepdim=True))
        return data_samples


@MODELS.register_module()
class DenseEstimator(BaseEstimator):
    """Per-pixel regression (``task`` 'normal' or 'albedo', the ``task`` of the head); normals are unit-normalised
    in ``predict``."""

    def __init__(self, *args, task: str = 'normal', **kwargs):
        super().__init__(*args, **kwargs)
        if task not in ('normal', 'albedo', 'pointmap'):
            raise ValueError(f"task must be 'normal', 'albedo' or 'pointmap', got {task!r}")
        head_task = getattr(self.decode_head, 'task', None)
        if head_task is not None and head_task != task:
            raise ValueError(f'{type(self).__name__}: task={task!r} but decode_head {type(self.decode_head).__name__} '
                             f'predicts {head_task!r}')
        self.task = task

    def _finish(self, pred: torch.Tensor, ds, scale_factor: float = 1.0, upsample_smoothing: Optional[dict] = None):
        if self.task == 'normal':  # unit length at the network resolution (as the released demo), then mapped back
            pred = F.normalize(pred, dim=0, eps=1e-8)
        pred = invert_test_resize(pred, ds.metainfo, upsample_smoothing)
        if self.task == 'normal':  # the bilinear resize shortens vectors where directions vary; unit again
            pred = F.normalize(pred, dim=0)
        setattr(ds, f'pred_{self.task}', PixelData(data=pred * scale_factor))

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        pred = self.decode_head.predict(self.extract_feat(inputs), data_samples, self.test_cfg)
        pred = resize_like(pred, inputs.shape[-2:])
        for ds, p in zip(data_samples, pred):
            self._finish(p, ds)
        return data_samples


@MODELS.register_module()
class PointmapEstimator(DenseEstimator):
    """Canonical pointmap + scale (``PointmapHead``: its ``loss`` gives the ``ScaleL1Loss`` entries the scale).

    In ``predict`` a letterbox resize by ``s`` (metainfo ``letterbox_scale``) multiplied fx by s, so the canonical
    pointmap and the scale of the original image are the network's × s; ``pred_scale`` is stored in the metainfo.
    ``test_cfg.upsample_smoothing`` (default: the released demo's 3×3 Gaussian, σ 0.8, 4 passes; None turns it off)
    smooths the pointmap before it is enlarged back to an original larger than the letterboxed image.
    """

    TEST_CFG_KEYS = ('upsample_smoothing', )

    def __init__(self, *args, task: str = 'pointmap', **kwargs):
        super().__init__(*args, task=task, **kwargs)
        self.test_cfg.setdefault('upsample_smoothing', dict(RELEASE_UPSAMPLE_SMOOTHING))

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        pointmap, scale = self.decode_head.predict(self.extract_feat(inputs), data_samples, self.test_cfg)
        pointmap = resize_like(pointmap, inputs.shape[-2:])
        for ds, p, s in zip(data_samples, pointmap, scale[:, 0]):
            factor = float(ds.metainfo.get('letterbox_scale', 1.0))
            self._finish(p, ds, factor, self.test_cfg.get('upsample_smoothing'))
            ds.set_metainfo(dict(pred_scale=float(s) * factor))
        return data_samples
