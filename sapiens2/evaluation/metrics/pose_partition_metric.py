"""Whole-body and per-part COCO OKS AP/AR for the 308-keypoint layout (docs/data_conventions.md §5, paper Table 7)."""
import json
from copy import deepcopy
from typing import Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.registry import DefaultScope
from mmpose.evaluation.metrics import KeypointPartitionMetric

from sapiens2.registry import METRICS
from sapiens2.utils.package_files import metainfo_file


@METRICS.register_module()
class PosePartitionMetric(KeypointPartitionMetric):
    """mmpose's ``KeypointPartitionMetric`` (one ``CocoMetric`` per part, sigmas split by part) usable from a
    sapiens2-scoped config: the inner ``metric`` (e.g. ``dict(type='CocoMetric', score_mode='bbox',
    nms_mode='none')``) is built in mmpose's scope. Result keys: ``<part>/coco/AP``, ``<part>/coco/AR``, ...

    Ground truth always comes from the samples' ``raw_ann_info`` (in the 308 layout, split per part): mmpose's
    ``CocoMetric`` would otherwise load the dataset's annotation file (registered in the MessageHub under
    ``<dataset_name>_ann_file``), whose layout may differ (COCO-WholeBody: 133) and which is not split per part.

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

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for name, keypoint_ids in self.partitions.items():
            meta = deepcopy(dataset_meta)
            meta['num_keypoints'] = len(keypoint_ids)
            meta['sigmas'] = meta['sigmas'][keypoint_ids]
            # a name with no registered annotation file: CocoMetric then builds its GT from raw_ann_info
            meta['dataset_name'] = f"{meta.get('dataset_name', 'dataset')}/{name}"
            self.metrics[name].dataset_meta = meta
