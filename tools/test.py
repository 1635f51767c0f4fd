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
        from sapiens2.evaluation.detected_boxes import use_detected_boxes
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
