"""Shared by estimate_memory.py and benchmark.py: build a sapiens2 model from a config (a task config with `model`,
or a backbone-only base such as configs/_base_/models/sapiens2_0.4b.py with just `backbone`) and profile it without
allocating real weights (torch FakeTensorMode): parameter counts, saved-for-backward activation bytes (per
transformer block and the rest), and linear / conv FLOPs (``torch.utils.flop_counter``; attention FLOPs are added
analytically because the counter does not see ``scaled_dot_product_attention`` on every backend)."""
from dataclasses import dataclass, field

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode


def load_config(path: str) -> Config:
    cfg = Config.fromfile(path)
    if 'model' not in cfg and 'backbone' not in cfg:
        raise KeyError(f'{path} defines neither `model` nor `backbone`')
    return cfg


def build_model(cfg: Config, use_tokenizer: bool = None) -> torch.nn.Module:
    """The task model (``cfg.model``) or the backbone (``cfg.backbone``), without pretrained weights."""
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    init_default_scope('sapiens2')
    model_cfg = cfg.model.copy() if 'model' in cfg else cfg.backbone.copy()
    backbone = model_cfg.get('backbone', model_cfg)
    backbone.pop('init_cfg', None)
    if use_tokenizer is not None:
        backbone['use_tokenizer'] = use_tokenizer
    model_cfg.pop('init_cfg', None)
    return MODELS.build(model_cfg)


def get_backbone(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, 'backbone', model)


def input_shape(cfg: Config, shape=None):
    """(H, W): ``shape`` or the backbone's ``img_size``."""
    if shape:
        return tuple(shape)
    backbone = cfg.model.backbone if 'model' in cfg else cfg.backbone
    return tuple(backbone.get('img_size', (1024, 768)))


def run_forward(model: torch.nn.Module, x: torch.Tensor):
    if hasattr(model, 'backbone') and 'mode' in model.forward.__code__.co_varnames:
        return model(x, mode='tensor')
    return model(x)


@dataclass
class Profile:
    params: int = 0
    block_params: list = field(default_factory=list)  # numel of every transformer block
    act_blocks: list = field(default_factory=list)  # saved-for-backward bytes per block (per sample)
    act_other: int = 0  # saved bytes outside the blocks (patch embed, tokenizer, head)
    block_input_bytes: int = 0  # one block input [1, N, C] in the compute dtype
    linear_flops: int = 0  # per sample, forward, 2 x MACs
    conv_flops: int = 0
    attention_flops: int = 0

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


def profile_model(cfg: Config, shape=None, dtype=torch.bfloat16, use_tokenizer=None) -> Profile:
    """Profile one sample of ``cfg``'s model at input ``shape`` (H, W) with parameters in ``dtype`` (the compute
    dtype of bf16 mixed precision), on fake tensors: nothing is allocated or computed."""
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
        counter = FlopCounterMode(display=False)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), counter:
            run_forward(model, x)
        for h in handles:
            h.remove()
        counts = counter.get_flop_counts().get('Global', {})
        for op, n in counts.items():
            name = str(op)
            if 'convolution' in name:
                prof.conv_flops += n
            elif any(k in name for k in ('mm', 'addmm', 'bmm', 'linear')):
                prof.linear_flops += n
        prof.act_blocks = [0] * len(backbone.blocks)
        for block, nbytes in seen.values():
            if block is None:
                prof.act_other += nbytes
            else:
                prof.act_blocks[block] += nbytes
        hw = (H // backbone.input_divisor) * (W // backbone.input_divisor)
        n_tokens = hw + backbone.num_prefix_tokens
        C = backbone.embed_dims
        prof.block_input_bytes = n_tokens * C * torch.finfo(dtype).bits // 8
        attention_counted = any('attention' in str(op) for op in counts)
        if not attention_counted:  # q·k^T and attn·v: 2 x (2 · N² · C) per block
            prof.attention_flops = len(backbone.blocks) * 4 * n_tokens ** 2 * C
    return prof

