"""Whole-body and per-part COCO OKS AP/AR for the 308-keypoint layout (docs/data_conventions.md §5, paper Table 7)."""
import json
from copy import deepcopy
from typing import Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmpose.evaluation.metrics import KeypointPartitionMetric
from xtcocotools.coco import COCO

from sapiens2.registry import METRICS
from sapiens2.utils.package_files import metainfo_file


@METRICS.register_module()
class PosePartitionMetric(KeypointPartitionMetric):
    """mmpose's ``KeypointPartitionMetric`` (one ``CocoMetric`` per part, sigmas split by part) usable from a
    sapiens2-scoped config: the inner ``metric`` (e.g. ``dict(type='CocoMetric', score_mode='bbox',
    nms_mode='none')``) is built in mmpose's scope. Result keys: ``<part>/coco/AP``, ``<part>/coco/AR``, ...

    With ground-truth boxes the ground truth comes from the samples' ``raw_ann_info`` (in the 308 layout, split per
    part): mmpose's ``CocoMetric`` would otherwise load the dataset's annotation file (registered in the MessageHub
    under ``<dataset_name>_ann_file``), whose layout may differ (COCO-WholeBody: 133) and which is not split per part.
    With detected boxes (the dataset's ``bbox_file``) the samples carry no ground truth: the 308-layout ground truth
    of the whole annotation file comes from the dataset (``Keypoints308Dataset.ground_truth_coco``, MessageHub entry
    ``<dataset_name>_gt_coco``), split per part, and the inner metric should rescore and suppress
    (``score_mode='bbox_keypoint', nms_mode='oks_nms'``: ``tools/test.py --bbox-file`` sets them; mmpose then scores
    and suppresses each part on its own keypoints).

    Args:
        metric (dict): the per-part metric config (an mmpose metric type name, unscoped).
        partitions (dict | Sequence[str]): part name -> keypoint ids, e.g. ``all=range(308)``, ``body=...``; or
            part names looked up in the ``groups`` of the ``metainfo`` JSON (``'all'``: every keypoint), so that
            configs name the parts instead of inlining hundreds of ids.
        metainfo (str): a bundled metadata name (``sapiens2/metainfo/<name>.json``) or a JSON path, for names.
    """

    def __init__(self, metric: dict, partitions: Union[dict, Sequence[str]], metainfo: str = 'keypoints308') -> None:
        if not isinstance(partitions, dict):
            partitions = self.partitions_from_metainfo(partitions, metainfo)
        metric = dict(metric)
        if metric.get('type', '').startswith('mmpose.'):
            metric['type'] = metric['type'][len('mmpose.'):]
        partitions = {name: list(ids) for name, ids in partitions.items()}
        with DefaultScope.overwrite_default_scope('mmpose'):
            super().__init__(metric=metric, partitions=partitions)

    @staticmethod
    def partitions_from_metainfo(names: Sequence[str], metainfo: str) -> dict:
        """Part names -> ``{name: keypoint ids}`` from the ``groups`` (and ``num_keypoints``) of a metadata JSON."""
        path = metainfo if metainfo.endswith('.json') else metainfo_file(metainfo)
        with open(path) as f:
            meta = json.load(f)
        groups = dict(meta.get('groups', {}), all=list(range(meta['num_keypoints'])))
        unknown = [n for n in names if n not in groups]
        if unknown:
            raise KeyError(f'PosePartitionMetric: parts {unknown} are not groups of {path} (it has {sorted(groups)})')
        return {name: groups[name] for name in names}

    @staticmethod
    def part_ground_truth(gt: dict, keypoint_ids: Sequence[int]) -> COCO:
        """A COCO-format keypoint ground truth (dict) -> an xtcocotools ``COCO`` of the keypoints ``keypoint_ids``
        (``keypoints`` sliced, ``num_keypoints`` recounted)."""
        annotations = []
        for ann in gt['annotations']:
            kpts = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)[list(keypoint_ids)]
            annotations.append(dict(ann, keypoints=kpts.flatten().tolist(),
                                    num_keypoints=int(np.count_nonzero(kpts[:, 2] > 0))))
        coco = COCO()
        coco.dataset = dict(gt, annotations=annotations)
        coco.createIndex()
        return coco

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        gt = MessageHub.get_current_instance().get_info(f"{dataset_meta.get('dataset_name')}_gt_coco")
        for name, keypoint_ids in self.partitions.items():
            meta = deepcopy(dataset_meta)
            meta['num_keypoints'] = len(keypoint_ids)
            meta['sigmas'] = meta['sigmas'][keypoint_ids]
            # a name with no registered annotation file: CocoMetric then builds its GT from raw_ann_info, or, with
            # detected boxes, uses the dataset's ground truth of this part
            meta['dataset_name'] = f"{meta.get('dataset_name', 'dataset')}/{name}"
            if gt is not None:
                self.metrics[name].coco = self.part_ground_truth(gt, keypoint_ids)
            self.metrics[name].dataset_meta = meta
