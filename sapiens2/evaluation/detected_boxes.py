"""Top-down pose evaluation on a person detector's boxes, as mmpose does it: a config switch (``tools/test.py
--bbox-file``)."""
import os.path as osp

# the COCO-style metrics whose scoring / NMS --bbox-file switches (mmpose's, and ours wrapping one per part)
COCO_METRICS = ('CocoMetric', 'CocoWholeBodyMetric')
PARTITION_METRICS = ('PosePartitionMetric', 'KeypointPartitionMetric')


def use_detected_boxes(cfg, bbox_file: str, score_thr: float = 0.0, nms_thr: float = 0.9):
    """Switch a top-down pose config's test set to detected boxes (mmpose's ``BaseCocoStyleDataset``
    ``bbox_file`` + ``filter_cfg.bbox_score_thr``) and its COCO metric (``CocoMetric`` / ``CocoWholeBodyMetric``,
    or the one inside ``PosePartitionMetric``) to ``score_mode='bbox_keypoint'``, ``nms_mode='oks_nms'``.
    Returns ``cfg`` (changed in place)."""
    dataset = cfg.test_dataloader.dataset
    if dataset.get('data_mode', 'topdown') != 'topdown' or 'ann_file' not in dataset:
        raise ValueError(f'--bbox-file: test_dataloader.dataset ({dataset.get("type")}) is not a top-down COCO-style '
                         'pose dataset (data_mode topdown, an ann_file for the images and the ground truth)')
    dataset.bbox_file = osp.abspath(bbox_file)  # mmpose reads it as given, not under data_root
    dataset.test_mode = True
    dataset.filter_cfg = dict(dataset.get('filter_cfg') or {}, bbox_score_thr=score_thr)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    switched = 0
    for evaluator in evaluators:
        metric = evaluator
        if evaluator.get('type', '').split('.')[-1] in PARTITION_METRICS:
            metric = evaluator.metric
        if metric.get('type', '').split('.')[-1] in COCO_METRICS:
            metric.update(score_mode='bbox_keypoint', nms_mode='oks_nms', nms_thr=nms_thr)
            switched += 1
    if not switched:
        raise ValueError(f'--bbox-file: test_evaluator {cfg.test_evaluator} has no COCO keypoint metric '
                         f'({", ".join(COCO_METRICS)}) to score detected boxes with')
    return cfg
