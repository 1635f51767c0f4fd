"""Building the runner of a config for ``tools/train.py`` / ``tools/test.py``, and ending their processes."""
import logging
import os
import socket
import sys

import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def free_port() -> int:
    """A free TCP port on localhost (single-process groups, test rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def use_single_process_group(cfg: Config) -> None:
    """A config with a distributed ``strategy`` (DDP / FSDP bases) started without a launcher runs as a one-process
    group (rank 0 of 1 on this machine) instead of failing for want of torchrun's environment."""
    if not cfg.get('strategy') or cfg.get('launcher', 'none') != 'none':
        return
    for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'), ('MASTER_ADDR', '127.0.0.1'),
                       ('MASTER_PORT', str(free_port()))):
        os.environ.setdefault(key, value)
    cfg.launcher = 'pytorch'
    print_log(f'{cfg.strategy.type} without a launcher: running as a single-process group '
              '(use tools/dist_train.sh CONFIG N for N processes)', logger='current')


def build_runner(cfg: Config):
    """``cfg.runner_type`` when set (the strategy bases set ``sapiens2.Sapiens2FlexibleRunner``), else
    :class:`sapiens2.engine.Sapiens2Runner`."""
    from mmengine.registry import RUNNERS

    from sapiens2.utils.config_check import check_config

    from .runner import Sapiens2Runner
    check_config(cfg, getattr(cfg, 'filename', None) or 'config')  # misspelled runner keys are refused, not ignored
    use_single_process_group(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Sapiens2Runner.from_cfg(cfg)


def end_distributed_process() -> None:
    """End a process started by torchrun once its work is done: wait for every rank, flush the logs and exit with
    status 0, skipping the exit-time teardown. Does nothing without a process group.

    torch's gloo teardown (``destroy_process_group`` as well as the destructors at interpreter exit) now and then
    aborts one rank with "terminate called without an active exception" after all of its work is done (twice in
    about a hundred 2-process CPU launches here), and torchrun then reports the whole run as failed. Call it last,
    after checkpoints and results are written (``tools/train.py`` and ``tools/test.py`` do, in ``__main__``).
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    from .rank_watch import watch_ranks
    with watch_ranks():  # a rank that never arrives is named; this one exits with status 1
        torch_dist.barrier()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
