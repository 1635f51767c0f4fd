"""MMEngine's default optimiser constructor, with one summary line for frozen parameters instead of one each."""
import logging

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from sapiens2.registry import OPTIM_WRAPPER_CONSTRUCTORS


class _DropFrozenWarnings(logging.Filter):
    """Drops (and counts) the constructor's per-tensor "is skipped since its requires_grad=False" warnings."""

    def __init__(self):
        super().__init__()
        self.names = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.endswith(' is skipped since its requires_grad=False'):
            self.names.append(message.split(' ')[0].lstrip('.'))
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FrozenSummaryOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`mmengine.optim.DefaultOptimWrapperConstructor` (same parameter groups) that reports parameters left
    out for ``requires_grad=False`` in one line, grouped by top-level module, instead of one warning per tensor: an
    EMA teacher alone is hundreds of them (800+ for 5B pretraining)."""

    def __call__(self, model: nn.Module) -> OptimWrapper:
        logger = MMLogger.get_current_instance()
        frozen = _DropFrozenWarnings()
        logger.addFilter(frozen)
        try:
            optim_wrapper = super().__call__(model)
        finally:
            logger.removeFilter(frozen)
        if frozen.names:
            groups = {}
            for name in frozen.names:
                groups[name.split('.')[0]] = groups.get(name.split('.')[0], 0) + 1
            print_log(f'optimiser: {len(frozen.names)} frozen (requires_grad=False) parameter tensors left out: '
                      + ', '.join(f'{top}.* ({n})' for top, n in groups.items()), logger='current')
        return optim_wrapper
