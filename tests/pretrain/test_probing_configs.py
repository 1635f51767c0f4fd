"""Dense-probing configs (Table 2): frozen backbone, one decoder and one set of hyper-parameters for every size."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT, TINY_ARCH
from sapiens2.registry import MODELS

PROBES = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'probing', 'sapiens2_*_probe.py')))


def without_size(cfg):
    head = dict(cfg.model.decode_head)
    head.pop('in_channels')
    return head, cfg.optim_wrapper.to_dict(), [dict(s) for s in cfg.param_scheduler], cfg.train_cfg.to_dict(), \
        cfg.train_dataloader.batch_size


@pytest.mark.parametrize('task', ['seg29', 'normal'])
def test_same_decoder_and_hyper_parameters_for_every_size(task):
    paths = [p for p in PROBES if f'_{task}_probe' in p]
    assert len(paths) == 5
    cfgs = [Config.fromfile(p) for p in paths]
    reference = without_size(cfgs[0])
    for path, cfg in zip(paths, cfgs):
        assert without_size(cfg) == reference, path
        bb = cfg.model.backbone
        assert bb.frozen_stages == Config.fromfile(path).num_layers
        assert bb.init_cfg.type == 'Pretrained' and bb.init_cfg.checkpoint.endswith('_pretrain.safetensors')


@pytest.mark.parametrize('path', [p for p in PROBES if '_1b_' in p or '_5b_' in p], ids=osp.basename)
def test_probe_builds_with_everything_frozen(path):
    cfg = Config.fromfile(path)
    init_default_scope('sapiens2')
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg')
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.decode_head.parameters())
    assert not model.backbone.training or all(not m.training for m in model.backbone.blocks)


def test_tiny_probe_trains_only_the_decoder():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'probing', 'sapiens2_1b_seg29_probe.py'))
    init_default_scope('sapiens2')
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'] = dict(type='Sapiens2', arch=TINY_ARCH, out_type='featmap', frozen_stages=2)
    model_cfg['decode_head']['in_channels'] = TINY_ARCH['embed_dims']
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    out = model(torch.randn(2, 3, 64, 48), mode='tensor')
    assert out.shape == (2, 29, 64, 48)
    out.square().mean().backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.decode_head.parameters())
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k
