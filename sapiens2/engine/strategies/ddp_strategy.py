"""MMEngine's DDP strategy made to run on CPU (gloo) as well as on GPUs (nccl)."""
import os

import torch
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS

from sapiens2.registry import STRATEGIES
from .dist_utils import read_checkpoint, setup_process_group


@STRATEGIES.register_module()
class DeviceAgnosticDDPStrategy(DDPStrategy):
    """:class:`mmengine._strategy.DDPStrategy` for ``FlexibleRunner`` that also runs without GPUs: gloo process
    group when CUDA is absent, ``device_ids=None`` on CPU, and checkpoints read with ``weights_only=False``
    (resume of MMEngine checkpoints on torch >= 2.6).

    Args: as :class:`mmengine._strategy.DDPStrategy` (``model_wrapper`` defaults to
    ``dict(type='MMDistributedDataParallel', broadcast_buffers=False)``).
    """

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

    def load_checkpoint(self, filename: str, *, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')], callback=None) -> dict:
        self.logger.info(f'Load checkpoint from {filename}')
        checkpoint = read_checkpoint(filename, 'cpu' if map_location == 'default' else map_location)
        if callback is not None:
            callback(checkpoint)
        self.load_model_state_dict(checkpoint.pop('state_dict'), strict=strict, revise_keys=revise_keys)
        return checkpoint
