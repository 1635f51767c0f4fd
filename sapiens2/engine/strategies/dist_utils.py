"""Process-group setup shared by the sapiens2 strategies and runners, which also works without GPUs."""
import datetime
import os
from typing import Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist, is_distributed


def collective_timeout(timeout: Union[None, int, float, datetime.timedelta]) -> Optional[datetime.timedelta]:
    """``env_cfg.dist_cfg.timeout`` (seconds, as MMEngine documents it, or a ``timedelta``) as the ``timedelta``
    that ``torch.distributed.init_process_group`` requires; ``None`` keeps torch's default."""
    if timeout is None or isinstance(timeout, datetime.timedelta):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout must be a positive number of seconds, got {timeout!r}')
    return datetime.timedelta(seconds=timeout)


def setup_process_group(launcher: str = 'pytorch', backend: str = 'nccl', **kwargs) -> None:
    """Initialise the default process group once. Without CUDA the backend becomes gloo and the group is created
    from the torchrun / slurm environment (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``) directly,
    since MMEngine's ``init_dist`` calls ``torch.cuda.set_device``. ``timeout`` (seconds) bounds every collective:
    a rank that stops responding makes the others fail after that long instead of waiting forever."""
    if is_distributed():
        return
    if torch.cuda.is_available():  # MMEngine's init_dist converts the timeout (seconds) itself
        timeout = collective_timeout(kwargs.pop('timeout', None))
        if timeout is not None:
            kwargs['timeout'] = timeout.total_seconds()
        init_dist(launcher, backend, **kwargs)
        return
    if launcher == 'slurm':  # map slurm's variables to torch's
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
    missing = [k for k in ('MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE') if k not in os.environ]
    if missing:
        raise RuntimeError(f'distributed CPU run lacks environment variables {missing}; launch it with torchrun '
                           '(tools/dist_train.sh) or tools/slurm_train.sh')
    torch_dist.init_process_group('gloo', timeout=collective_timeout(kwargs.get('timeout')))
