"""A head's ``loss_decode``: built from one dict or a list of dicts into an ``nn.ModuleList`` (no parameters) by
:func:`build_losses`, and evaluated into the ``{loss_name: value}`` dict the runner sums by :func:`sum_losses`."""
from typing import Iterable, Optional, Sequence, Tuple, Union

from torch import nn

from sapiens2.registry import MODELS


def loss_name(loss_module: nn.Module) -> str:
    """The key of a loss in the losses dict: its ``loss_name``, else its class name."""
    return getattr(loss_module, 'loss_name', type(loss_module).__name__)


def build_losses(loss_decode: Optional[Union[dict, Sequence[dict]]]) -> nn.ModuleList:
    if loss_decode is None:
        return nn.ModuleList()
    cfgs = [loss_decode] if isinstance(loss_decode, dict) else list(loss_decode)
    losses = nn.ModuleList(MODELS.build(c) for c in cfgs)
    names = [loss_name(m) for m in losses]
    if len(set(names)) != len(names):
        raise ValueError(f'loss_decode has repeated loss_name values {names}; give each loss its own loss_name')
    return losses


def sum_losses(calls: Iterable[Tuple[nn.Module, tuple]], owner: str) -> dict:
    """(loss module, its arguments) pairs -> ``{loss_name: loss_module(*arguments)}``; ``owner`` (the head) is named
    in the error when there is no loss at all."""
    losses = {}
    for loss_module, args in calls:
        name = loss_name(loss_module)
        losses[name] = losses.get(name, 0) + loss_module(*args)
    if not losses:
        raise ValueError(f'{owner}: loss_decode is empty, nothing to train')
    return losses
