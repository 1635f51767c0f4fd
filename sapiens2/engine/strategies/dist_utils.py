"""Helpers shared by the sapiens2 strategies: process-group setup that also works without GPUs, and reading our
own MMEngine checkpoints on torch >= 2.6 (whose ``torch.load`` defaults to ``weights_only=True``)."""
import os
import os.path as osp

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


def read_checkpoint(filename: str, map_location='cpu') -> dict:
    """A checkpoint dict from a local ``.pth`` (MMEngine checkpoints hold message hubs and numpy objects, so they
    are read with ``weights_only=False``: they are our own files) or ``.safetensors`` (as ``{'state_dict': ...}``);
    other URIs go through MMEngine's loaders."""
    if osp.isfile(filename):
        if filename.endswith('.safetensors'):
            from safetensors.torch import load_file
            return dict(state_dict=load_file(filename, device=str(map_location)))
        checkpoint = torch.load(filename, map_location=map_location, weights_only=False)
        if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
            checkpoint = dict(state_dict=checkpoint)
        return checkpoint
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(filename, map_location=map_location)
