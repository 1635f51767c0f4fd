"""Build a head's ``loss_decode`` (one dict or a list of dicts) into an ``nn.ModuleList`` (no parameters)."""
from typing import Optional, Sequence, Union

from torch import nn

from sapiens2.registry import MODELS


def build_losses(loss_decode: Optional[Union[dict, Sequence[dict]]]) -> nn.ModuleList:
    if loss_decode is None:
        return nn.ModuleList()
    cfgs = [loss_decode] if isinstance(loss_decode, dict) else list(loss_decode)
    losses = nn.ModuleList(MODELS.build(c) for c in cfgs)
    names = [getattr(m, 'loss_name', type(m).__name__) for m in losses]
    if len(set(names)) != len(names):
        raise ValueError(f'loss_decode has repeated loss_name values {names}; give each loss its own loss_name')
    return losses
