"""Parameter and FLOP counting in the paper's convention, on the meta device (no weights are allocated, so the 5B
model is counted on a laptop).

Convention (reproduces the Sapiens2 paper's Table 1 within 5%): ``flops`` = multiply-accumulates (MACs) of the
convolution and linear layers of one forward pass of one image. The two matmuls of attention (Q·Kᵀ and A·V) are
reported separately as ``attention_macs`` and are not part of ``flops``; norms, activations, RoPE and softmax are
not counted.
"""
import contextlib
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Complexity:
    """Counts for one forward pass of one input."""
    params: int = 0
    linear_macs: int = 0  # nn.Linear
    conv_macs: int = 0  # nn.Conv1d/2d/3d and transposed convs
    attention_macs: int = 0  # Q·Kᵀ + A·V of F.scaled_dot_product_attention

    @property
    def flops(self) -> int:
        """The paper's FLOPs: conv + linear multiply-accumulates."""
        return self.linear_macs + self.conv_macs

    @property
    def flops_with_attention(self) -> int:
        return self.flops + self.attention_macs

    def to_dict(self) -> dict:
        return dict(asdict(self), flops=self.flops, flops_with_attention=self.flops_with_attention)


def linear_macs(module: nn.Linear, inputs, output) -> int:
    """in_features × out_features per output row."""
    return output.numel() // module.out_features * module.in_features * module.out_features


def conv_macs(module: nn.modules.conv._ConvNd, inputs, output) -> int:
    """Per output element: (C_in / groups) × prod(kernel). Transposed convs: per input element, C_out / groups ×
    prod(kernel)."""
    kernel = 1
    for k in module.kernel_size:
        kernel *= k
    if module.transposed:
        x = inputs[0]
        return x.numel() * module.out_channels // module.groups * kernel
    return output.numel() * module.in_channels // module.groups * kernel


def sdpa_macs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> int:
    """Q [..., Hq, Lq, D] · Kᵀ [..., Hkv, Lk, D] and A [..., Hq, Lq, Lk] · V [..., Hkv, Lk, Dv] (GQA broadcast over
    the query heads): batch·Hq·Lq·Lk·(D + Dv)."""
    lk, d, dv = key.shape[-2], query.shape[-1], value.shape[-1]
    return query.numel() // d * lk * (d + dv)


@contextlib.contextmanager
def count_macs(model: nn.Module, result: Complexity):
    """Within the context, forward passes of ``model`` add their linear / conv / attention MACs to ``result``."""
    handles = []

    def on_linear(m, i, o):
        result.linear_macs += linear_macs(m, i, o)

    def on_conv(m, i, o):
        result.conv_macs += conv_macs(m, i, o)

    for module in model.modules():
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(on_linear))
        elif isinstance(module, nn.modules.conv._ConvNd):
            handles.append(module.register_forward_hook(on_conv))
    sdpa = F.scaled_dot_product_attention

    def counted_sdpa(query, key, value, *args, **kwargs):
        result.attention_macs += sdpa_macs(query, key, value)
        return sdpa(query, key, value, *args, **kwargs)

    F.scaled_dot_product_attention = counted_sdpa
    try:
        yield result
    finally:
        F.scaled_dot_product_attention = sdpa
        for h in handles:
            h.remove()


def get_model_complexity(model: nn.Module, input_shape: Sequence[int], forward=None) -> Complexity:
    """Count ``model``'s parameters and the MACs of one forward pass on a zero input of ``input_shape`` (e.g.
    ``(1, 3, 1024, 768)``), created on the device of the model's parameters (``meta`` for models built under
    ``with torch.device('meta')``). ``forward(model, x)`` defaults to ``model(x)``."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    result = Complexity(params=sum(p.numel() for p in model.parameters()))
    x = torch.zeros(tuple(input_shape), device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad(), count_macs(model, result):
        (forward or (lambda m, t: m(t)))(model, x)
    model.train(was_training)
    return result


def build_on_meta(cfg: dict, registry=None) -> nn.Module:
    """Build a model config with every parameter on the meta device (no memory, no pretrained weights)."""
    if registry is None:
        from sapiens2.registry import MODELS as registry
    cfg = dict(cfg)
    cfg.pop('init_cfg', None)
    if isinstance(cfg.get('backbone'), dict):
        cfg['backbone'] = {k: v for k, v in cfg['backbone'].items() if k != 'init_cfg'}
    with torch.device('meta'):
        return registry.build(cfg)
