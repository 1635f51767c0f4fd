"""Building a model from its config without pretrained weights: the one place that drops ``init_cfg``.

Profiling, FLOP counting, exports and converters build a model whose weights are random (or loaded afterwards from
another file), so the ``init_cfg=dict(type='Pretrained', ...)`` of the model and of its backbone must not load
anything. :func:`without_pretrained` returns the config without them; :func:`build_without_weights` builds it,
optionally on a device such as ``'meta'`` (no memory is allocated).
"""
from typing import Optional

import torch
from torch import nn


def without_pretrained(cfg, use_tokenizer: Optional[bool] = None) -> dict:
    """A copy of a model config (a task model with a ``backbone``, or a backbone) without the ``init_cfg`` of the
    model and of its backbone; ``use_tokenizer`` (when given) is set on the backbone."""
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    cfg.pop('init_cfg', None)
    if isinstance(cfg.get('backbone'), dict):
        cfg['backbone'] = {k: v for k, v in cfg['backbone'].items() if k != 'init_cfg'}
    if use_tokenizer is not None:
        (cfg['backbone'] if isinstance(cfg.get('backbone'), dict) else cfg)['use_tokenizer'] = use_tokenizer
    return cfg


def build_without_weights(cfg, device=None, use_tokenizer: Optional[bool] = None, registry=None) -> nn.Module:
    """Build ``cfg`` (see :func:`without_pretrained`) with ``sapiens2.registry.MODELS`` (or ``registry``), under
    ``torch.device(device)`` when a device is given (``'meta'``: parameters without memory)."""
    if registry is None:
        import sapiens2.models  # noqa: F401  (registers the model types)
        from sapiens2.registry import MODELS as registry
    cfg = without_pretrained(cfg, use_tokenizer)
    if device is None:
        return registry.build(cfg)
    with torch.device(device):
        return registry.build(cfg)
