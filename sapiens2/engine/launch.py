"""Building the runner of a config for ``tools/train.py`` / ``tools/test.py``."""
import os
import socket

import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def use_single_process_group(cfg: Config) -> None:
    """A config with a distributed ``strategy`` (DDP / FSDP bases) started without a launcher runs as a one-process
    group (rank 0 of 1 on this machine) instead of failing for want of torchrun's environment."""
    if not cfg.get('strategy') or cfg.get('launcher', 'none') != 'none':
        return
    for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'), ('MASTER_ADDR', '127.0.0.1'),
                       ('MASTER_PORT', str(_free_port()))):
        os.environ.setdefault(key, value)
    cfg.launcher = 'pytorch'
    print_log(f'{cfg.strategy.type} without a launcher: running as a single-process group '
              '(use tools/dist_train.sh CONFIG N for N processes)', logger='current')


def build_runner(cfg: Config):
    """``cfg.runner_type`` when set (the strategy bases set ``sapiens2.Sapiens2FlexibleRunner``), else
    :class:`sapiens2.engine.Sapiens2Runner`."""
    from mmengine.registry import RUNNERS

    from .runner import Sapiens2Runner
    use_single_process_group(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Sapiens2Runner.from_cfg(cfg)


def shutdown_distributed() -> None:
    """Wait for every rank, then tear the process group down before the interpreter exits (leaving it to exit-time
    destructors can abort a rank of a gloo/FSDP run after its work is done)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
