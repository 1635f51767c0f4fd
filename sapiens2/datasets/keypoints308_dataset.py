"""COCO-format 308-keypoint dataset (top-down): ``keypoints`` of length 3·308 per person, GT or detected boxes."""
import json
import warnings
from typing import List, Optional, Tuple

import numpy as np
from mmengine.fileio import get_local_path
from mmengine.logging import MessageHub
from mmpose.datasets.datasets.base import BaseCocoStyleDataset

from sapiens2.registry import DATASETS
from sapiens2.utils.package_files import dataset_metainfo_config
from .json_files import json_error

KEYPOINTS308_METAINFO_FILE = dataset_metainfo_config('keypoints308')


@DATASETS.register_module()
class Keypoints308Dataset(BaseCocoStyleDataset):
    """mmpose's COCO-style top-down dataset with the 308-keypoint metainfo
    (``configs/_base_/datasets/keypoints308.py``, generated from ``keypoints308.json``).

    Checks per annotation: a keypoint list whose length is not 3·308 raises naming the annotation id; a box with
    non-positive width or height (after clipping to the image) is skipped with a warning (count in
    ``num_skipped_boxes``); a keypoint with a non-finite (NaN / inf) x, y or visibility becomes invisible (0, 0, 0)
    in training and evaluation, with a warning naming the annotation id (count in ``num_nan_keypoint_annotations``);
    an annotation file that is not valid JSON (e.g. truncated) raises :class:`AnnotationFileError` naming it.
    Subclasses convert other layouts by overriding :meth:`keypoints308`.

    Detected boxes (mmpose's ``bbox_file``, test mode): the samples are the detections (no ground truth of their
    own), so the dataset publishes the annotation file's ground truth in the 308 layout (:meth:`ground_truth_coco`)
    in the MessageHub under ``<dataset_name>_gt_coco`` (not saved in checkpoints), where ``PosePartitionMetric``
    takes it; in ground-truth-box mode that entry is None.
    """

    METAINFO: dict = dict(from_file=KEYPOINTS308_METAINFO_FILE)
    num_skipped_boxes = 0
    num_nan_keypoint_annotations = 0

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        try:
            return super()._load_annotations()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:  # from the COCO API's json.load
            raise json_error(self.ann_file, e) from e

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if self.test_mode:
            gt = self.ground_truth_coco() if self.bbox_file else None
            MessageHub.get_current_instance().update_info(f'{self.metainfo["dataset_name"]}_gt_coco', gt,
                                                          resumed=False)
        return data_list

    def ground_truth_coco(self) -> dict:
        """The annotation file as a COCO keypoint ground truth in the 308 layout: ``images`` (id, width, height),
        ``categories``, and every annotation (crowd and keypoint-less ones too: COCOeval ignores them, so that
        detections on them are not false positives) with ``keypoints`` of 3·308 values (non-finite -> invisible)
        and ``num_keypoints`` recounted."""
        try:
            with get_local_path(self.ann_file) as path, open(path) as f:
                raw = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise json_error(self.ann_file, e) from e
        num = self.metainfo['num_keypoints']
        annotations = []
        for ann in raw.get('annotations', []):
            kpts = self.keypoints308(ann)
            kpts = np.zeros((num, 3), np.float32) if kpts is None else np.where(
                np.isfinite(kpts).all(axis=1, keepdims=True), kpts, 0.0)
            kept = {k: ann[k] for k in ('id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd') if k in ann}
            annotations.append(dict(kept, keypoints=kpts.flatten().tolist(),
                                    num_keypoints=int(np.count_nonzero(kpts[:, 2] > 0))))
        images = [{k: img[k] for k in ('id', 'width', 'height', 'file_name') if k in img} for img in raw['images']]
        return dict(images=images, categories=raw.get('categories', [dict(id=1, name='person')]),
                    annotations=annotations)

    def keypoints308(self, ann: dict) -> Optional[np.ndarray]:
        """Raw annotation -> keypoints [308, 3] (x, y, visibility), or None when the annotation has none."""
        if 'keypoints' not in ann:
            return None
        kpts = np.asarray(ann['keypoints'], dtype=np.float32)
        num = self.metainfo['num_keypoints']
        if kpts.size != 3 * num:
            raise ValueError(f'{self.ann_file}: annotation id {ann.get("id")} has {kpts.size} keypoint values, '
                             f'expected 3 x {num} = {3 * num}')
        return kpts.reshape(num, 3)

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        ann, img = raw_data_info['raw_ann_info'], raw_data_info['raw_img_info']
        if 'bbox' not in ann:
            return None
        kpts = self.keypoints308(ann)
        if kpts is None:
            return None
        bad = ~np.isfinite(kpts).all(axis=1)
        if bad.any():
            idx = np.flatnonzero(bad).tolist()
            warnings.warn(f'{self.ann_file}: annotation id {ann.get("id")} (image {img.get("file_name")}) has '
                          f'non-finite values in {len(idx)} keypoint(s) (308-layout indices '
                          f'{idx[:10]}{" ..." if len(idx) > 10 else ""}); they are treated as invisible')
            kpts = np.where(bad[:, None], 0.0, kpts).astype(np.float32)
            type(self).num_nan_keypoint_annotations += 1
        x, y, w, h = ann['bbox']
        x1, x2 = np.clip([x, x + w], 0, img['width'] - 1)
        y1, y2 = np.clip([y, y + h], 0, img['height'] - 1)
        if not (x2 > x1 and y2 > y1):
            warnings.warn(f'{self.ann_file}: annotation id {ann.get("id")} (image {img.get("file_name")}) has an '
                          f'empty or degenerate box {ann["bbox"]}; skipped')
            type(self).num_skipped_boxes += 1
            return None
        ann = dict(ann, keypoints=kpts.flatten().tolist(), num_keypoints=int(np.count_nonzero(kpts[:, 2] > 0)))
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=ann))
