"""Builders of the (layer, norm, activation) stacks shared by the released heads (docs/architecture.md §2).

Every stack is an ``nn.Sequential`` of triples, so its parameterised layers sit at indices 0, 3, 6, ... and the
state-dict keys are ``<name>.0.weight``, ``<name>.3.weight``, ... as in the released checkpoints. Each stack's
``out_channels`` attribute is its output width (its input width when empty), for the next stack to start from.
"""
from typing import Callable, Sequence

from torch import nn

# ConvTranspose2d (padding, output_padding) per kernel size: each layer doubles the resolution.
_DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def instance_norm(channels: int) -> nn.Module:
    """The released heads' norm: ``InstanceNorm2d`` (eps 1e-5, no affine parameters, no running stats)."""
    return nn.InstanceNorm2d(channels)


def _stack(layers, out_channels: int) -> nn.Sequential:
    stack = nn.Sequential(*layers)
    stack.out_channels = out_channels  # a plain attribute: not in the state dict
    return stack


def build_deconv_layers(in_channels: int, out_channels: Sequence[int], kernel_sizes: Sequence[int],
                        norm: Callable[[int], nn.Module] = instance_norm) -> nn.Sequential:
    """Stride-2 ``ConvTranspose2d(bias=False)`` + norm + SiLU per entry: [B, in, h, w] -> [B, out[-1], h·2^n, w·2^n]."""
    if len(out_channels) != len(kernel_sizes):
        raise ValueError(f'deconv_out_channels {list(out_channels)} and deconv_kernel_sizes {list(kernel_sizes)} '
                         'differ in length')
    layers = []
    for out, k in zip(out_channels, kernel_sizes):
        if k not in _DECONV_PADDING:
            raise ValueError(f'deconv kernel size must be one of {sorted(_DECONV_PADDING)}, got {k}')
        padding, output_padding = _DECONV_PADDING[k]
        layers += [nn.ConvTranspose2d(in_channels, out, k, stride=2, padding=padding, output_padding=output_padding,
                                      bias=False), norm(out), nn.SiLU(inplace=True)]
        in_channels = out
    return _stack(layers, in_channels)


def build_conv_layers(in_channels: int, out_channels: Sequence[int], kernel_sizes: Sequence[int],
                      norm: Callable[[int], nn.Module] = instance_norm, stride: int = 1) -> nn.Sequential:
    """``Conv2d(k, padding (k-1)//2, bias=True)`` + norm + SiLU per entry."""
    if len(out_channels) != len(kernel_sizes):
        raise ValueError(f'conv_out_channels {list(out_channels)} and conv_kernel_sizes {list(kernel_sizes)} '
                         'differ in length')
    layers = []
    for out, k in zip(out_channels, kernel_sizes):
        layers += [nn.Conv2d(in_channels, out, k, stride=stride, padding=(k - 1) // 2, bias=True), norm(out),
                   nn.SiLU(inplace=True)]
        in_channels = out
    return _stack(layers, in_channels)
