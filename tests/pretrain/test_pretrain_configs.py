"""Every pretraining config builds (5B and 1B-4K on the meta device) with the appendix recipe."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT
from sapiens2.registry import MODELS

CONFIGS = sorted(c for c in glob.glob(osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_*_pretrain*.py'))
                 if '_continue_' not in c)  # continued pretraining: tests/pretrain/test_continued_pretraining.py
BACKBONE_PARAMS = {  # docs/architecture.md §1 (no tokenizer) / 1B-4K
    'sapiens2_0.1b_pretrain.py': 113_993_472, 'sapiens2_0.4b_pretrain.py': 395_450_368,
    'sapiens2_0.8b_pretrain.py': 814_283_520, 'sapiens2_1b_pretrain.py': 1_455_474_176,
    'sapiens2_5b_pretrain.py': 5_066_902_976, 'sapiens2_1b-4k_pretrain.py': 1_606_588_928,
}


def test_all_sizes_present():
    names = {osp.basename(c) for c in CONFIGS}
    assert set(BACKBONE_PARAMS) | {'sapiens2_tiny_pretrain_cpu.py'} == names


@pytest.mark.parametrize('path', [c for c in CONFIGS if osp.basename(c) in BACKBONE_PARAMS],
                         ids=lambda p: osp.basename(p))
def test_config_builds_on_meta(path):
    cfg = Config.fromfile(path)
    init_default_scope('sapiens2')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.backbone.parameters())
    assert n == BACKBONE_PARAMS[osp.basename(path)]
    # the teacher is a full copy of backbone + head and takes no gradients
    assert sum(p.numel() for p in model.teacher.module['backbone'].parameters()) == n
    assert not any(p.requires_grad for p in model.teacher.parameters())
    dec = model.mae_decoder
    assert len(dec.blocks) == 8 and dec.embed.out_features == 512
    assert model.loss_weights == dict(mae=1.0, cl=0.4, koleo=0.04)
    assert (model.mask_generator.mask_ratio, model.mask_generator.block_prob) == (0.75, 0.4)
    assert (model.student_temperature, model.teacher_temperature_warmup, model.teacher_temperature) == \
        (0.1, 0.065, 0.07)
    assert (model.teacher_momentum, model.center_momentum) == (0.992, 0.9)
    # recipe
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.betas, opt.weight_decay, opt.fused) == ('AdamW', 1e-4, (0.9, 0.95), 0.05, True)
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.train_cfg.max_iters == 500000
    warm, cos = cfg.param_scheduler
    assert warm.end == 1000 and cos.eta_min == 1e-7 and cos.end == 500000
    pw = cfg.optim_wrapper.paramwise_cfg
    assert pw.norm_decay_mult == pw.bias_decay_mult == 0.0
    assert {'cls_token', 'storage_tokens', 'mask_token', 'local_pos_embed', 'w_cls'} <= set(pw.custom_keys)
    views = cfg.train_dataloader.dataset.pipeline[1]
    assert views.num_views == [2, 4]
    g, l = views.transforms
    assert g[0].crop_ratio_range == (0.5, 1.0) and l[0].crop_ratio_range == (0.2, 0.7)
    expected = (4096, 3072) if '4k' in path else (1024, 768)  # (H, W)
    assert g[0].scale == expected
    assert not any('Color' in t.type or 'Blur' in t.type or 'Solarize' in t.type for t in g)  # globals feed MAE
    assert model.backbone.use_tokenizer == ('4k' in path)
