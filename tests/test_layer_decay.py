"""Layer-wise lr decay of configs/_base_/schedules/adamw_warmup_linear.py (mmpretrain's
LearningRateDecayOptimWrapperConstructor with the estimator's get_layer_depth) on a tiny model: lr = base ·
rate^(L+1−id) with embeddings/tokenizer id 0, block i id i+1, the rest L+1; no weight decay for 1-D parameters and
the tokenizer's local_pos_embed."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import sapiens2.models  # noqa: F401
from sapiens2.models.estimators.base_estimator import BaseEstimator
from sapiens2.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@MODELS.register_module(force=True)
class LayerDecayTestHead(torch.nn.Conv2d):
    """A 1x1 conv head (weight 4-D, bias 1-D)."""

    def __init__(self, in_channels: int):
        super().__init__(in_channels, 2, 1)


def expected_layer_id(name: str, num_layers: int) -> int:
    """The rule of docs/architecture.md §1.7, written from the parameter name."""
    assert name.startswith(('backbone.', 'decode_head.'))
    if name.startswith('backbone.'):
        local = name[len('backbone.'):]
        if local.startswith(('cls_token', 'storage_tokens', 'patch_embed.', 'tokenizer.')):
            return 0
        if local.startswith('blocks.'):
            return int(local.split('.')[1]) + 1
    return num_layers + 1


@pytest.mark.parametrize('use_tokenizer', [False, True])
def test_layer_decay_groups(tiny_arch, use_tokenizer):
    init_default_scope('sapiens2')
    model = BaseEstimator(
        backbone=dict(type='Sapiens2', arch=tiny_arch, img_size=(128, 96), out_type='featmap',
                      use_tokenizer=use_tokenizer),
        decode_head=dict(type='LayerDecayTestHead', in_channels=tiny_arch['embed_dims']))
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/schedules/adamw_warmup_linear.py'))
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg['paramwise_cfg']['layer_decay_rate'] = rate = 0.7
    base_lr, base_wd = optim_cfg['optimizer']['lr'], optim_cfg['optimizer']['weight_decay']
    wrapper = build_optim_wrapper(model, optim_cfg)

    L = tiny_arch['num_layers']
    names = {id(p): n for n, p in model.named_parameters()}
    seen = set()
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            name = names[id(p)]
            seen.add(name)
            layer_id = expected_layer_id(name, L)
            assert group['lr'] == pytest.approx(base_lr * rate ** (L + 1 - layer_id)), name
            no_decay = p.ndim == 1 or name.endswith('local_pos_embed')
            assert group['weight_decay'] == (0.0 if no_decay else base_wd), name
    assert seen == set(names.values())  # every trainable parameter is in exactly one group
    assert len(seen) == sum(len(g['params']) for g in wrapper.optimizer.param_groups)
    if use_tokenizer:
        assert 'backbone.tokenizer.local_pos_embed' in seen
    # the extremes: patch embedding at base·rate^(L+1), the head at the full base lr
    lrs = {names[id(p)]: g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(base_lr * rate ** (L + 1))
    assert lrs['decode_head.weight'] == pytest.approx(base_lr)
    assert lrs['backbone.blocks.0.attn.wq.weight'] == pytest.approx(base_lr * rate ** L)
