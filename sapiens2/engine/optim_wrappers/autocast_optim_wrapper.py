"""Mixed precision without a GradScaler: bf16 autocast on CPU and GPU."""
from contextlib import contextmanager

import torch
from mmengine.device import get_device

from sapiens2.registry import OPTIM_WRAPPERS
from .skip_non_finite_optim_wrapper import SkipNonFiniteOptimWrapper


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(SkipNonFiniteOptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` whose forward runs under ``torch.autocast(device, dtype)``.

    bf16 has fp32's exponent range, so no loss scaling is needed; this works on CPU, where MMEngine's
    ``AmpOptimWrapper`` asserts a GPU. (``AmpOptimWrapper`` with fp16 and a GradScaler stays available on GPU.)
    Like its parent :class:`SkipNonFiniteOptimWrapper`, it skips iterations whose loss is not finite on any rank.

    Args:
        dtype (str | torch.dtype): autocast dtype, ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: as :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if not isinstance(self.cast_dtype, torch.dtype):
            raise TypeError(f'AutocastOptimWrapper: dtype must be a torch dtype or its name, got {dtype!r}')

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = 'cuda' if get_device() == 'cuda' else 'cpu'
        with super().optim_context(model), torch.autocast(device_type=device_type, dtype=self.cast_dtype):
            yield
