"""Top-down pose estimator (docs/architecture.md §2.1, docs/data_conventions.md §4.3): Sapiens2 backbone + ``PoseHeatmapHead``, UDP heatmap codec.

Data samples are mmpose ``PoseDataSample`` s from mmpose's top-down pipeline (one instance per crop):
training reads ``gt_fields.heatmaps`` [K, h, w] and ``gt_instance_labels.keypoint_weights`` [1, K]; prediction adds
``pred_instances`` (``keypoints`` [1, K, 2] in original-image pixels, ``keypoint_scores`` [1, K], ``bboxes``,
``bbox_scores``) and, with ``test_cfg.output_heatmaps``, ``pred_fields.heatmaps`` — what mmpose's ``CocoMetric``
and ``KeypointPartitionMetric`` consume.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import BaseDataElement, InstanceData, PixelData

from sapiens2.registry import KEYPOINT_CODECS, MODELS
from .base_estimator import BaseEstimator


@MODELS.register_module()
class TopdownPoseEstimator(BaseEstimator):
    """Args (besides :class:`BaseEstimator`'s):
        codec (dict): keypoint codec config, built with ``sapiens2.registry.KEYPOINT_CODECS`` (``UDPHeatmap`` or
            ``BatchedUDPHeatmap``); decodes heatmaps to keypoints in crop-input pixels.
        test_cfg: ``flip_test`` (bool, default True), ``output_heatmaps`` (bool, default False).

    Training is the head's ``loss`` (:class:`BaseEstimator`); ``predict`` runs the head's ``predict`` (with the flip
    test, whose ``flip_indices`` come from the samples' metainfo, set by mmpose's pipeline from the dataset
    metainfo), decodes with the codec and maps the keypoints back to the image (:meth:`_to_image`).
    """

    TEST_CFG_KEYS = ('flip_test', 'output_heatmaps')

    def __init__(self, backbone: dict, decode_head: dict, codec: dict, data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(backbone, decode_head, data_preprocessor=data_preprocessor, train_cfg=train_cfg,
                         test_cfg=test_cfg, init_cfg=init_cfg)
        self.codec = KEYPOINT_CODECS.build(codec)

    # --------------------------------------------------------------- inference
    def predict_heatmaps(self, inputs: torch.Tensor, flip_indices: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Crops [B, 3, H, W] -> heatmaps [B, K, h, w] (``decode_head.predict``); with ``flip_indices`` the
        flip-test average."""
        sample = BaseDataElement(metainfo=dict(flip_indices=flip_indices))
        return self._head_predict(inputs, [sample], flip_indices is not None)

    def _head_predict(self, inputs: torch.Tensor, data_samples: List, flip_test: bool) -> torch.Tensor:
        feats = self.extract_feat(inputs)
        if flip_test:  # mmpose's convention: the head gets (feats, feats of the flipped crops)
            feats = (feats, self.extract_feat(inputs.flip(-1)))
        return self.decode_head.predict(feats, data_samples, dict(self.test_cfg, flip_test=flip_test))

    def decode(self, heatmaps: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
        """Heatmaps [B, K, h, w] -> (keypoints [B, K, 2] in crop-input pixels, scores [B, K]) through the codec
        (batched when ``codec.support_batch_decoding``)."""
        if getattr(self.codec, 'support_batch_decoding', False):
            keypoints, scores = self.codec.batch_decode(heatmaps.detach())
        else:
            decoded = [self.codec.decode(h) for h in heatmaps.detach().float().cpu().numpy()]
            keypoints = np.stack([k for k, _ in decoded])
            scores = np.stack([s for _, s in decoded])
        keypoints, scores = np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)
        return keypoints.reshape(len(heatmaps), -1, 2), scores.reshape(len(heatmaps), -1)

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        heatmaps = self._head_predict(inputs, data_samples, bool(self.test_cfg.get('flip_test', True)))
        keypoints, scores = self.decode(heatmaps)
        for i, ds in enumerate(data_samples):
            ds.pred_instances = self._to_image(keypoints[i], scores[i], ds)
            if self.test_cfg.get('output_heatmaps', False):
                ds.pred_fields = PixelData(heatmaps=heatmaps[i])
        return data_samples

    @staticmethod
    def _to_image(keypoints: np.ndarray, scores: np.ndarray, data_sample) -> InstanceData:
        """Crop-input keypoints [K, 2] -> original-image pixels with the affine of mmpose's ``TopdownAffine``:
        ``kpt / input_size · input_scale + input_center − input_scale / 2``."""
        meta = data_sample.metainfo
        input_size = np.asarray(meta['input_size'], np.float32)
        center = np.asarray(meta['input_center'], np.float32).reshape(2)
        scale = np.asarray(meta['input_scale'], np.float32).reshape(2)
        pred = InstanceData()
        pred.keypoints = (keypoints / input_size * scale + center - 0.5 * scale)[None]
        pred.keypoint_scores = scores[None]
        pred.keypoints_visible = pred.keypoint_scores
        if 'gt_instances' in data_sample:
            gt = data_sample.gt_instances
            if 'bboxes' in gt:
                pred.bboxes = np.asarray(gt.bboxes)
            if 'bbox_scores' in gt:
                pred.bbox_scores = np.asarray(gt.bbox_scores)
        return pred
