"""FSDP for sapiens2 on torch's per-module ``fully_shard`` (FSDP2), driven by MMEngine's ``FlexibleRunner``.

Why not MMEngine's ``FSDPStrategy``: it wraps with FSDP1, pins ``device_id`` to the local GPU, and its resume
calls ``FSDP.optim_state_dict_to_load`` positionally, which fails on torch >= 2.1 (docs/openmmlab_reuse.md §3.3). FSDP2 shards
every parameter as a DTensor (the optimizer steps on fp32 shards: the fp32 master weights), casts parameters to
bf16 for compute per module, reduce-scatters gradients in ``reduce_dtype``, and works on CPU with gloo.
Checkpoints are torch.distributed.checkpoint (DCP) directories written by all ranks in parallel
(``tools/convert/consolidate_fsdp.py`` turns one into the released safetensors layout).
"""
import os.path as osp
import time
from typing import Optional, Sequence

import mmengine
import torch
import torch.distributed.checkpoint as dcp
from mmengine.device import get_device
from mmengine.dist import get_rank, is_main_process
from mmengine.model import BaseDataPreprocessor
from mmengine.optim import OptimWrapper
from mmengine.utils import get_git_hash, mkdir_or_exist
from torch import nn
from torch.distributed.tensor import DTensor
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from sapiens2.registry import STRATEGIES
from sapiens2.utils.checkpoint import DDP_REVISE_KEYS, revise_state_dict_keys
from .ddp_strategy import DeviceAgnosticDDPStrategy

DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16, 'fp32': torch.float32, None: None}
EXTRA_STATE_FILE = 'extra_state.pth'  # meta, message hub, param schedulers: rank 0 writes it next to the shards


def is_sharded_checkpoint(path: str) -> bool:
    """A DCP directory (as written by :class:`FullyShardStrategy`)."""
    return osp.isdir(path) and osp.isfile(osp.join(path, '.metadata'))


def check_sharded_checkpoint(path: str) -> None:
    """Raise ``FileNotFoundError`` naming what an incomplete DCP directory lacks (shard files listed in its
    ``.metadata``; ``extra_state.pth`` of a training checkpoint, whose ``.metadata`` names optimizer state), instead of
    the reader's error deep inside ``dcp.load`` on every rank."""
    metadata = dcp.FileSystemReader(path).read_metadata()
    files = {info.relative_path for info in (metadata.storage_data or {}).values()}
    missing = sorted(f for f in files if not osp.isfile(osp.join(path, f)))
    has_optimizer = any(key.startswith('optimizer.') for key in metadata.state_dict_metadata)
    if has_optimizer and not osp.isfile(osp.join(path, EXTRA_STATE_FILE)):
        missing.append(EXTRA_STATE_FILE)
    if missing:
        raise FileNotFoundError(f'incomplete FSDP checkpoint {path}: missing {", ".join(missing)} (of '
                                f'{len(files)} shard file(s) listed in its .metadata); it cannot be loaded. Use an '
                                'earlier checkpoint (a save interrupted before completion never gets the final name '
                                'with SafeCheckpointHook)')


@STRATEGIES.register_module()
class FullyShardStrategy(DeviceAgnosticDDPStrategy):
    """Fully sharded data parallel with ``torch.distributed.fsdp.fully_shard``, one FSDP unit per transformer block.

    Args:
        shard_modules (Sequence[str]): class names of the modules that become their own FSDP unit (all-gathered
            just before their forward, freed after it); everything else (patch embed, tokens, final norm, head) is
            sharded with the root unit. Default: Sapiens2's ``TransformerBlock``.
        param_dtype (str): compute dtype of the parameters, 'bf16' | 'fp16' | 'fp32' (the sharded fp32 parameters
            stay the optimizer's master weights).
        reduce_dtype (str): dtype of the gradient reduce-scatter; 'bf16' halves communication.
        activation_checkpointing (bool): recompute each block in backward: sets ``with_cp=True`` on every
            submodule that has that attribute (the Sapiens2 backbone checkpoints block by block).
        reshard_after_forward (bool): free the gathered block parameters after forward (ZeRO-3); False keeps them
            until backward (ZeRO-2 like, more memory, less communication).
        **kwargs: :class:`mmengine._strategy.DDPStrategy` arguments (``work_dir``, ``env_kwargs``, ...).
    """

    def __init__(self, *, shard_modules: Sequence[str] = ('TransformerBlock', ), param_dtype: str = 'bf16',
                 reduce_dtype: str = 'bf16', activation_checkpointing: bool = True,
                 reshard_after_forward: bool = True, **kwargs):
        for name, value in (('param_dtype', param_dtype), ('reduce_dtype', reduce_dtype)):
            if value not in DTYPES:
                raise ValueError(f'FullyShardStrategy {name} must be one of bf16, fp16, fp32; got {value!r}')
        kwargs.pop('model_wrapper', None)  # fully_shard modifies the model in place: no wrapper class
        super().__init__(**kwargs)
        self.shard_modules = tuple(shard_modules)
        self.mp_policy = MixedPrecisionPolicy(param_dtype=DTYPES[param_dtype], reduce_dtype=DTYPES[reduce_dtype])
        self.activation_checkpointing = activation_checkpointing
        self.reshard_after_forward = reshard_after_forward

    # ------------------------------------------------------------------ wrapping
    def _wrap_model(self, model: nn.Module) -> nn.Module:
        device = get_device()
        model = model.to(device)
        if self.activation_checkpointing:
            for module in model.modules():
                if hasattr(module, 'with_cp'):
                    module.with_cp = True
        mesh = init_device_mesh(device, (self.world_size, ))
        units = [m for m in model.modules() if type(m).__name__ in self.shard_modules]
        if not units:
            raise ValueError(f'FullyShardStrategy: no module of class {list(self.shard_modules)} in '
                             f'{type(model).__name__}; set shard_modules to the class names of its blocks')
        for module in units:
            fully_shard(module, mesh=mesh, mp_policy=self.mp_policy,
                        reshard_after_forward=self.reshard_after_forward)
        # The data preprocessor runs outside forward (in train_step): keep its buffers out of the root unit.
        ignored = {p for m in model.modules() if isinstance(m, BaseDataPreprocessor) for p in m.parameters()}
        fully_shard(model, mesh=mesh, mp_policy=self.mp_policy, ignored_params=ignored or None)
        self.logger.info(f'FullyShardStrategy: {len(units)} {"/".join(self.shard_modules)} units + root on '
                         f'{self.world_size} {device} rank(s); params {self.mp_policy.param_dtype}, reduce '
                         f'{self.mp_policy.reduce_dtype}, activation checkpointing {self.activation_checkpointing}')
        return model

    def _optimizer(self) -> Optional[torch.optim.Optimizer]:
        wrapper = getattr(self, 'optim_wrapper', None)
        if wrapper is None:
            return None
        if not isinstance(wrapper, OptimWrapper):
            raise TypeError(f'FullyShardStrategy supports a single OptimWrapper, got {type(wrapper).__name__}')
        return wrapper.optimizer

    # ------------------------------------------------------------------ state dicts (sharded DTensors)
    def model_state_dict(self) -> dict:
        return get_model_state_dict(self.model)

    def optim_state_dict(self) -> dict:
        return get_optimizer_state_dict(self.model, self._optimizer())

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False,
                              revise_keys=DDP_REVISE_KEYS) -> None:
        """Load a sharded (DTensor) state dict, or a full one (plain tensors, every rank holding all of them)."""
        full = not any(isinstance(v, DTensor) for v in state_dict.values())
        if full:
            state_dict = revise_state_dict_keys(state_dict, revise_keys)
        set_model_state_dict(self.model, state_dict, options=StateDictOptions(full_state_dict=full, strict=strict))

    def load_optim_state_dict(self, state_dict: dict) -> None:
        set_optimizer_state_dict(self.model, self._optimizer(), state_dict)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, filename: str, *, save_optimizer: bool = True, save_param_scheduler: bool = True,
                        extra_ckpt: Optional[dict] = None, callback=None) -> None:
        """Write the DCP directory ``filename`` (``.metadata`` + one shard file per rank; every rank writes) and
        ``filename/extra_state.pth`` (meta, message hub, param schedulers) from rank 0."""
        checkpoint = dict(state_dict=self.model_state_dict())
        if save_optimizer and self._optimizer() is not None:
            checkpoint['optimizer'] = self.optim_state_dict()
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        checkpoint.update(extra_ckpt or {})
        checkpoint.setdefault('meta', {}).update(
            seed=self.seed, time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine=mmengine.__version__ + get_git_hash(), world_size=self.world_size)
        if callback is not None:
            callback(checkpoint)
        sharded = {k: checkpoint.pop(k) for k in ('state_dict', 'optimizer') if k in checkpoint}
        mkdir_or_exist(filename)
        # a write error inside dcp.save (e.g. ENOSPC on one rank) is raised by torch on every rank alike
        dcp.save(sharded, checkpoint_id=filename)
        error = None
        if is_main_process():
            try:
                torch.save(checkpoint, osp.join(filename, EXTRA_STATE_FILE))
            except Exception as e:  # noqa: BLE001  (raised after the barrier: the other ranks must not wait)
                error = e
        torch.distributed.barrier()
        if error is not None:
            raise error

    def load_checkpoint(self, filename: str, *, map_location='cpu', strict: bool = False,
                        revise_keys=DDP_REVISE_KEYS, callback=None) -> dict:
        """Load a sharded DCP directory (model, and the optimizer when one is built: its state is returned under
        ``'optimizer'`` for :meth:`resume`) or a full ``.pth`` / ``.safetensors`` file (model only)."""
        self.logger.info(f'Load checkpoint from {filename} (rank {get_rank()})')
        if not is_sharded_checkpoint(filename):
            return super().load_checkpoint(filename, map_location=map_location, strict=strict,
                                           revise_keys=revise_keys, callback=callback)
        check_sharded_checkpoint(filename)
        extra_path = osp.join(filename, EXTRA_STATE_FILE)
        # our own file (meta holds numpy objects and the message hub): weights_only=False
        checkpoint = torch.load(extra_path, map_location='cpu', weights_only=False) if osp.isfile(extra_path) \
            else dict(meta={})
        sharded = dict(state_dict=self.model_state_dict())
        optimizer = self._optimizer()
        if optimizer is not None and self._has_optimizer_state(filename):
            sharded['optimizer'] = self.optim_state_dict()
        dcp.load(sharded, checkpoint_id=filename)
        if callback is not None:
            callback(checkpoint)
        self.load_model_state_dict(sharded['state_dict'], strict=strict)
        if 'optimizer' in sharded:
            checkpoint['optimizer'] = sharded['optimizer']
        return checkpoint

    @staticmethod
    def _has_optimizer_state(filename: str) -> bool:
        metadata = dcp.FileSystemReader(filename).read_metadata()
        return any(key.startswith('optimizer.') for key in metadata.state_dict_metadata)
