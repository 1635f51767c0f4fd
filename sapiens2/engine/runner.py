"""``Sapiens2Runner`` / ``Sapiens2FlexibleRunner``: MMEngine's runners with a strict ``load_from`` report
(and, for ``Runner``, CPU (gloo) distributed runs; the flexible runner's strategies handle that themselves)."""
import os.path as osp

import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import FlexibleRunner, Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch.nn.parallel import DistributedDataParallel

from sapiens2.registry import RUNNERS
from sapiens2.utils.checkpoint import (DDP_REVISE_KEYS, CheckpointMismatchError, format_mismatch,
                                       load_state_dict_checked, read_state_dict, revise_state_dict_keys,
                                       state_dict_mismatch)
from .strategies.dist_utils import setup_process_group


@RUNNERS.register_module()
class Sapiens2Runner(Runner):
    """The runner of ``tools/train.py`` / ``tools/test.py`` (unless a config sets ``runner_type``).

    Differences from :class:`mmengine.runner.Runner`:

    - ``load_from`` is strict by default (config key ``load_from_strict=False`` relaxes it) and a mismatch raises
      :class:`sapiens2.utils.checkpoint.CheckpointMismatchError` listing every missing, unexpected and
      shape-mismatched key (non-strict loads log the same report). ``.safetensors`` files in the released layout
      (``backbone.*`` + ``decode_head.*``) load directly.
    - Distributed launches without CUDA initialise a gloo process group from the torchrun / slurm environment and
      wrap the model in DDP with ``device_ids=None`` (MMEngine calls ``torch.cuda.set_device`` and passes
      ``device_ids=[local_rank]``).
    """

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not torch.cuda.is_available():
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            dist_cfg.pop('backend', None)
            setup_process_group(self.launcher, 'gloo', **dist_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        if self.distributed and not torch.cuda.is_available() and not is_model_wrapper(model):
            model_wrapper_cfg = dict(model_wrapper_cfg or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False)))
            wrapper_cls = MODEL_WRAPPERS.get(model_wrapper_cfg.get('type', 'MMDistributedDataParallel'))
            if isinstance(wrapper_cls, type) and issubclass(wrapper_cls, DistributedDataParallel):
                model_wrapper_cfg.setdefault('device_ids', None)  # CPU: no device ids
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = None,
                        revise_keys=DDP_REVISE_KEYS):
        """Load the weights of ``filename`` (``.pth`` or ``.safetensors``) into the model.

        Args:
            strict (bool, optional): ``None`` takes the config's ``load_from_strict`` (default True).
        """
        if strict is None:
            strict = self.cfg.get('load_from_strict', True)
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state_dict = revise_state_dict_keys(checkpoint.get('state_dict', checkpoint), revise_keys)
        load_state_dict_checked(model, state_dict, strict=strict, source=filename, logger=self.logger)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename} (strict={strict})')
        return checkpoint


@RUNNERS.register_module()
class Sapiens2FlexibleRunner(FlexibleRunner):
    """MMEngine's ``FlexibleRunner`` (DDP / FSDP strategies, ``configs/_base_/strategies/``) with the same strict
    ``load_from`` as :class:`Sapiens2Runner`: before a full checkpoint file reaches the strategy, its keys and shapes
    are compared with the model's and every mismatch is reported (``load_from_strict=False`` relaxes it)."""

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = None,
                        revise_keys=DDP_REVISE_KEYS):
        if strict is None:
            strict = self.cfg.get('load_from_strict', True)
        if strict and osp.isfile(filename):  # sharded (directory) checkpoints are checked by torch.distributed
            model = self.strategy.model
            model = model.module if is_model_wrapper(model) else model
            state_dict = revise_state_dict_keys(read_state_dict(filename), revise_keys)
            report = state_dict_mismatch(model, state_dict)
            if any(report.values()):
                raise CheckpointMismatchError(format_mismatch(report, filename))
        return super().load_checkpoint(filename, map_location=map_location, strict=strict, revise_keys=revise_keys)
