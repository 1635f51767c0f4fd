"""Evaluate a checkpoint on a config's test set.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out metrics.json] [--cfg-options k=v ...]
                                           [--launcher none|pytorch|slurm]

CHECKPOINT is an MMEngine ``.pth`` or a released ``.safetensors`` (``backbone.*`` + ``decode_head.*``), loaded
strictly (``--cfg-options load_from_strict=False`` relaxes it). ``--out`` writes the metrics dict as a JSON object.
Multi-process runs: ``tools/dist_test.sh CONFIG CHECKPOINT N [args]``.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a sapiens2 model')
    parser.add_argument('config', help='config file or bundled config name (e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('checkpoint', help='checkpoint (.pth or .safetensors)')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='write the metrics as a JSON object to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
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
