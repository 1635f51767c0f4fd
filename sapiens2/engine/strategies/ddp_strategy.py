"""MMEngine's DDP strategy made to run on CPU (gloo) as well as on GPUs (nccl)."""
import os

import torch
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner.checkpoint import weights_to_cpu

from sapiens2.registry import STRATEGIES
from .dist_utils import setup_process_group


@STRATEGIES.register_module()
class DeviceAgnosticDDPStrategy(DDPStrategy):
    """:class:`mmengine._strategy.DDPStrategy` for ``FlexibleRunner`` that also runs without GPUs: gloo process
    group when CUDA is absent and ``device_ids=None`` on CPU. Checkpoints are read through MMEngine's loader,
    which :mod:`sapiens2.engine.checkpoint_loader` makes handle ``.safetensors`` and torch >= 2.6.

    Checkpoints hold the unwrapped model's keys (no DDP ``module.`` prefix), as MMEngine's ``Runner`` writes
    them, so they load as they are into a single-process model, ``tools/test.py`` and ``tools/convert``.

    Args: as :class:`mmengine._strategy.DDPStrategy` (``model_wrapper`` defaults to
    ``dict(type='MMDistributedDataParallel', broadcast_buffers=False)``).
    """

    def __init__(self, **kwargs):
        from sapiens2.utils.config_check import check_keys, init_args
        check_keys(f'strategy {type(self).__name__}', kwargs, init_args(DDPStrategy))  # typos named, not TypeError
        super().__init__(**kwargs)

    def model_state_dict(self) -> dict:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        return weights_to_cpu(model.state_dict())

    def _setup_distributed(self, launcher: str = 'pytorch', backend: str = 'nccl', **kwargs):
        setup_process_group(launcher, backend, **kwargs)

    def _wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        if is_model_wrapper(model):
            return model
        device = get_device()
        model = self.convert_model(model.to(device))
        if self.model_wrapper is None:
            self.model_wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False)
        device_ids = [int(os.environ.get('LOCAL_RANK', 0))] if device == 'cuda' else None
        return MODEL_WRAPPERS.build(self.model_wrapper, default_args=dict(
            type='MMDistributedDataParallel', module=model, device_ids=device_ids))
