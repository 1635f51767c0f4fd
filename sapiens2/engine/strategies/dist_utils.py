"""Process-group setup shared by the sapiens2 strategies and runners, which also works without GPUs."""
import os

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist, is_distributed


def setup_process_group(launcher: str = 'pytorch', backend: str = 'nccl', **kwargs) -> None:
    """Initialise the default process group once. Without CUDA the backend becomes gloo and the group is created
    from the torchrun / slurm environment (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``) directly,
    since MMEngine's ``init_dist`` calls ``torch.cuda.set_device``."""
    if is_distributed():
        return
    if torch.cuda.is_available():
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
    torch_dist.init_process_group('gloo', timeout=kwargs.get('timeout'))
