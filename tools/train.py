"""Train a sapiens2 model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp] [--cfg-options k=v ...]
                                 [--launcher none|pytorch|slurm]

Runs ``cfg.runner_type`` when the config sets it (e.g. ``FlexibleRunner`` with a ``strategy`` from
``configs/_base_/strategies/``), else :class:`sapiens2.engine.Sapiens2Runner` (strict ``load_from``, gloo + CPU DDP when
there is no GPU). Multi-process runs: ``tools/dist_train.sh CONFIG N [args]``.
"""
import argparse
import os
import os.path as osp

from sapiens2.cli import add_cfg_options_arg, cfg_options_from_args  # no heavy imports

# MMEngine and torch are imported after argument parsing (--help answers at once)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a sapiens2 model')
    parser.add_argument('config', help='config file or bundled config name (e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the latest checkpoint of the work dir (no value / "auto") or from PATH')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast (CPU and GPU, no loss scaling)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the lr linearly with the total batch')
    add_cfg_options_arg(parser, 'train_cfg.max_iters=10 optim_wrapper.optimizer.lr=1e-4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    args.cfg_options = cfg_options_from_args(parser, args.cfg_options)  # after parsing: imports MMEngine
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def setup_amp(cfg) -> None:
    """Switch the optim wrapper to bf16 autocast (:class:`sapiens2.engine.AutocastOptimWrapper`, which also skips
    non-finite losses like ``SkipNonFiniteOptimWrapper``); an explicit ``AmpOptimWrapper`` (fp16 + GradScaler on
    GPU) in the config is kept."""
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper',
                                                     'AutocastOptimWrapper', 'sapiens2.AutocastOptimWrapper'):
        return
    if optim_wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'mmengine.OptimWrapper',
                                                         'SkipNonFiniteOptimWrapper',
                                                         'sapiens2.SkipNonFiniteOptimWrapper'):
        raise ValueError(f'--amp: cannot make optim_wrapper.type={optim_wrapper.type!r} mixed precision; set an '
                         "autocast wrapper in the config instead (type='AutocastOptimWrapper')")
    optim_wrapper.type = 'AutocastOptimWrapper'
    optim_wrapper.dtype = 'bfloat16'


def build_cfg(args):
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
    if args.amp:
        setup_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'--auto-scale-lr: {args.config} has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.engine.launch import build_runner
    from sapiens2.engine.rank_watch import watch_ranks
    runner = build_runner(build_cfg(args))
    with watch_ranks():  # a rank that stops responding is named, and the others exit with status 1
        runner.train()


if __name__ == '__main__':
    main()
    from sapiens2.engine.launch import end_distributed_process
    end_distributed_process()
