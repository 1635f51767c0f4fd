"""Evaluate a checkpoint on a config's test set.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out metrics.json] [--cfg-options k=v ...]
                                           [--bbox-file DETECTIONS.json [--bbox-score-thr T]]
                                           [--launcher none|pytorch|slurm]

CHECKPOINT is an MMEngine ``.pth`` or a released ``.safetensors`` (``backbone.*`` + ``decode_head.*``), loaded
strictly (``--cfg-options load_from_strict=False`` relaxes it). ``--out`` writes the metrics dict as a JSON object.
Multi-process runs: ``tools/dist_test.sh CONFIG CHECKPOINT N [args]``.

Top-down pose with detected boxes (as mmpose): ``--bbox-file`` is a COCO-format detection list
(``[{"image_id", "category_id": 1, "bbox": [x, y, w, h], "score"}, ...]``); the test set then crops the detected
people instead of the ground-truth boxes, drops detections scoring below ``--bbox-score-thr``, and the COCO metric
scores each pose by box score x mean keypoint score above 0.2 (``score_mode='bbox_keypoint'``) and suppresses
duplicates by OKS NMS (``nms_mode='oks_nms'``, ``nms_thr=0.9``; ``--cfg-options test_evaluator.nms_thr=...``).

The arguments are parsed before torch / MMEngine are imported (``--help`` answers at once).
"""
import argparse
import json
import os
import os.path as osp

from sapiens2.cli import add_cfg_options_arg, cfg_options_from_args  # no heavy imports

# the COCO-style metrics whose scoring / NMS --bbox-file switches (mmpose's, and ours wrapping one per part)
COCO_METRICS = ('CocoMetric', 'CocoWholeBodyMetric')
PARTITION_METRICS = ('PosePartitionMetric', 'KeypointPartitionMetric')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a sapiens2 model')
    parser.add_argument('config', help='config file or bundled config name (e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('checkpoint', help='checkpoint (.pth or .safetensors)')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='write the metrics as a JSON object to this file')
    add_cfg_options_arg(parser, 'test_dataloader.batch_size=4')
    parser.add_argument('--bbox-file', help='top-down pose: evaluate on the detected boxes of this COCO-format '
                                            'detection file instead of the ground-truth boxes')
    parser.add_argument('--bbox-score-thr', type=float, default=None,
                        help='with --bbox-file: drop detections scoring below this (default 0: keep all)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    args.cfg_options = cfg_options_from_args(parser, args.cfg_options)  # after parsing: imports MMEngine
    if args.bbox_file is not None and not osp.isfile(args.bbox_file):
        parser.error(f'--bbox-file {args.bbox_file}: no such file')
    if args.bbox_score_thr is not None and args.bbox_file is None:
        parser.error('--bbox-score-thr needs --bbox-file')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


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


def to_jsonable(value):
    """Metric values (numpy / torch scalars and arrays) -> JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.package_files import load_config
    cfg = load_config(args.config)
    from sapiens2.utils.config_check import check_cfg_options
    check_cfg_options(cfg, args.cfg_options)  # a key that matches nothing but misspells one is refused
    cfg.merge_from_dict(args.cfg_options)
    if args.bbox_file is not None:
        use_detected_boxes(cfg, args.bbox_file, args.bbox_score_thr or 0.0)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from, cfg.resume = args.checkpoint, False

    from sapiens2.engine.launch import build_runner
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(to_jsonable(metrics), f, indent=2)
        runner.logger.info(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
    from sapiens2.engine.launch import end_distributed_process
    end_distributed_process()
