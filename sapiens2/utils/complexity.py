"""Profiling of sapiens2 models, the one module behind tools/analysis/{get_model_complexity, estimate_memory,
pretrain_flops, benchmark}.py: parameters, FLOPs, saved activations and per-GPU training memory, all without real
weights (meta device or fake tensors), so the 5B model is profiled on a laptop.

One counter (:func:`count_macs`: forward hooks on linear / conv layers and a wrapper of
``F.scaled_dot_product_attention``) gives every number:

* :func:`get_model_complexity` (paper convention, reproduces Table 1 within 5%): ``flops`` = multiply-accumulates
  (MACs) of the convolution and linear layers of one forward pass of one image. The two matmuls of attention (Q·Kᵀ
  and A·V) are reported separately as ``attention_macs`` and are not part of ``flops``; norms, activations, RoPE
  and softmax are not counted.
* :func:`profile_model` (fake tensors): the same counts as FLOPs (2 x MACs) per sample, plus saved-for-backward
  activation bytes per block, for :func:`estimate_memory` and the benchmark.
* :func:`masked_encoder_flops`: FLOPs (2 x MACs, attention included) of the pretraining student encoder with MAE
  masking vs. unmasked.

Models are built from configs without pretrained weights by :func:`sapiens2.models.builder.build_without_weights`.
"""
import contextlib
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

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
    from sapiens2.models.builder import build_without_weights
    return build_without_weights(cfg, device='meta', registry=registry)


def forward_flops(model: nn.Module, fn) -> int:
    """FLOPs (2 x MACs of linear, conv and attention matmuls) of ``fn()``, a forward pass of ``model``."""
    result = Complexity()
    with torch.no_grad(), count_macs(model, result):
        fn()
    return 2 * result.flops_with_attention


# ---------------------------------------------------------------------------------------- configs and models
def load_config(path: str):
    """An MMEngine config that defines ``model`` (a task config) or ``backbone`` (a backbone base such as
    configs/_base_/models/sapiens2_0.4b.py); a path or a bundled name (``pose/sapiens2_1b_308kpt``)."""
    from sapiens2.utils.package_files import load_config as _load
    cfg = _load(path)
    if 'model' not in cfg and 'backbone' not in cfg:
        raise KeyError(f'{path} defines neither `model` nor `backbone`')
    return cfg


def model_config(cfg, backbone_only: bool = False) -> dict:
    """``cfg.model`` (or its backbone with ``backbone_only``), else ``cfg.backbone``, as a dict."""
    if 'model' in cfg and isinstance(cfg.model, dict):
        if backbone_only:
            if 'backbone' not in cfg.model:
                raise KeyError(f'{cfg.filename}: model has no `backbone` (needed by --backbone-only)')
            return cfg.model.backbone.to_dict()
        return cfg.model.to_dict()
    if 'backbone' in cfg:
        return cfg.backbone.to_dict()
    raise KeyError(f'{cfg.filename} defines neither `model` nor `backbone`')


def build_model(cfg, use_tokenizer: Optional[bool] = None) -> nn.Module:
    """The task model (``cfg.model``) or the backbone (``cfg.backbone``) of a config, without pretrained weights."""
    from mmengine.registry import init_default_scope

    from sapiens2.models.builder import build_without_weights
    init_default_scope(cfg.get('default_scope', 'sapiens2') if hasattr(cfg, 'get') else 'sapiens2')
    return build_without_weights(model_config(cfg), use_tokenizer=use_tokenizer)


def get_backbone(model: nn.Module) -> nn.Module:
    return getattr(model, 'backbone', model)


def input_shape(cfg, shape=None):
    """(H, W): ``shape`` or the backbone's ``img_size``."""
    if shape:
        return tuple(shape)
    backbone = cfg.model.backbone if 'model' in cfg else cfg.backbone
    return tuple(backbone.get('img_size', (1024, 768)))


def run_forward(model: nn.Module, x: torch.Tensor):
    """``model(x, mode='tensor')`` for a task model, ``model(x)`` for a backbone."""
    if hasattr(model, 'backbone') and 'mode' in model.forward.__code__.co_varnames:
        return model(x, mode='tensor')
    return model(x)


# ------------------------------------------------------------------------------ activation / memory profile
@dataclass
class Profile:
    """Per sample, one training forward pass."""
    params: int = 0
    block_params: list = field(default_factory=list)  # numel of every transformer block
    act_blocks: list = field(default_factory=list)  # saved-for-backward bytes per block (per sample)
    act_other: int = 0  # saved bytes outside the blocks (patch embed, tokenizer, head)
    block_input_bytes: int = 0  # one block input [1, N, C] in the compute dtype
    linear_flops: int = 0  # per sample, forward, 2 x MACs
    conv_flops: int = 0
    attention_flops: int = 0  # Q·Kᵀ and A·V, 2 x MACs

    @property
    def act_total(self):
        return sum(self.act_blocks) + self.act_other

    @property
    def act_checkpointed(self):
        """Saved bytes with per-block activation checkpointing: every block keeps its input, plus one block's
        activations recomputed during backward, plus what lives outside the blocks."""
        return len(self.act_blocks) * self.block_input_bytes + max(self.act_blocks, default=0) + self.act_other

    @property
    def forward_flops(self):
        return self.linear_flops + self.conv_flops + self.attention_flops


def profile_model(cfg, shape=None, dtype=torch.bfloat16, use_tokenizer=None) -> Profile:
    """Profile one sample of ``cfg``'s model at input ``shape`` (H, W) with parameters in ``dtype`` (the compute
    dtype of bf16 mixed precision), on fake tensors: nothing is allocated or computed. FLOPs come from
    :func:`count_macs` (2 x MACs)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    H, W = input_shape(cfg, shape)
    prof = Profile()
    default_dtype = torch.get_default_dtype()
    with FakeTensorMode():
        torch.set_default_dtype(dtype)  # parameters are created in the compute dtype (fake: no memory)
        try:
            model = build_model(cfg, use_tokenizer)
        finally:
            torch.set_default_dtype(default_dtype)
        model.train()
        backbone = get_backbone(model)
        backbone.with_cp = False
        prof.params = sum(p.numel() for p in model.parameters())
        prof.block_params = [sum(p.numel() for p in b.parameters()) for b in backbone.blocks]
        param_storages = {p.untyped_storage()._cdata for p in model.parameters()}
        seen, current = {}, [None]

        def pack(t):
            key = t.untyped_storage()._cdata
            if key not in param_storages and key not in seen:
                seen[key] = (current[0], t.untyped_storage().nbytes())
            return t

        handles = []
        for i, block in enumerate(backbone.blocks):
            handles.append(block.register_forward_pre_hook(lambda m, a, i=i: current.__setitem__(0, i)))
            handles.append(block.register_forward_hook(lambda m, a, o: current.__setitem__(0, None)))
        x = torch.randn(1, 3, H, W, dtype=dtype)
        macs = Complexity()
        try:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), count_macs(model, macs):
                run_forward(model, x)
        finally:
            for h in handles:
                h.remove()
        prof.linear_flops, prof.conv_flops = 2 * macs.linear_macs, 2 * macs.conv_macs
        prof.attention_flops = 2 * macs.attention_macs
        prof.act_blocks = [0] * len(backbone.blocks)
        for block, nbytes in seen.values():
            if block is None:
                prof.act_other += nbytes
            else:
                prof.act_blocks[block] += nbytes
        n_tokens = (H // backbone.input_divisor) * (W // backbone.input_divisor) + backbone.num_prefix_tokens
        prof.block_input_bytes = n_tokens * backbone.embed_dims * torch.finfo(dtype).bits // 8
    return prof


def estimate_memory(prof: Profile, gpus: int, batch: int) -> dict:
    """Training bytes per GPU (bf16 mixed precision, fp32 master weights, AdamW) for DDP and FSDP, without and with
    per-block activation checkpointing: ``{(strategy, checkpointing): dict(states, gathered, activations, total)}``.

    DDP : fp32 weights 4P + fp32 grads 4P + AdamW 8P + bf16 autocast weight copies 2P + B x activations
    FSDP: (4P + 4P + 8P) / N + bf16 gathered root unit 2P_root + 2 blocks in flight (bf16 weights and grads,
          current + prefetched) 8P_block + B x activations
    """
    P = prof.params
    p_block = max(prof.block_params, default=0)
    p_root = P - sum(prof.block_params)
    out = {}
    for ckpt in (False, True):
        act = batch * (prof.act_checkpointed if ckpt else prof.act_total)
        ddp_states, ddp_gathered = 16 * P, 2 * P
        fsdp_states, fsdp_gathered = 16 * P / gpus, 2 * p_root + 8 * p_block
        out[('DDP', ckpt)] = dict(states=ddp_states, gathered=ddp_gathered, activations=act,
                                  total=ddp_states + ddp_gathered + act)
        out[('FSDP', ckpt)] = dict(states=fsdp_states, gathered=fsdp_gathered, activations=act,
                                   total=fsdp_states + fsdp_gathered + act)
    return out


# ---------------------------------------------------------------------------------------- masked encoder
def masked_encoder_flops(arch='sapiens2_1b', size=(1024, 768), mask_ratio=0.75, use_tokenizer=False,
                         batch=1) -> dict:
    """FLOPs (:func:`forward_flops`) of one pretraining student encoder pass (:meth:`Sapiens2.forward_features`)
    on [batch, 3, H, W], unmasked and with a ``mask_ratio`` block/patch mask, on the meta device.
    Returns dict(unmasked, masked, ratio)."""
    from sapiens2.models.backbones import Sapiens2
    from sapiens2.models.pretrain import BlockPatchMaskGenerator, split_visible
    with torch.device('meta'):
        backbone = Sapiens2(arch=arch, img_size=size, use_tokenizer=use_tokenizer, out_type='raw')
        images = torch.empty(batch, 3, *size)
    backbone.eval()
    h, w = size[0] // backbone.input_divisor, size[1] // backbone.input_divisor
    mask = BlockPatchMaskGenerator(mask_ratio=mask_ratio)(batch, h, w)  # a real pattern, on the CPU
    ids_keep = split_visible(mask)[0].to('meta')
    unmasked = forward_flops(backbone, lambda: backbone.forward_features(images))
    masked = forward_flops(backbone, lambda: backbone.forward_features(images, ids_keep))
    return dict(unmasked=unmasked, masked=masked, ratio=masked / unmasked)
