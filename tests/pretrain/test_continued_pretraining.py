"""Continued pretraining from a released backbone (configs/pretrain/sapiens2_tiny_continue_pretrain_cpu.py): the
backbone stays bit-identical while the fresh heads warm up, trains after, every loss falls, the exported backbone's
features stay close to the released ones, and a run resumed before the boundary matches the uninterrupted one."""
import glob
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from sapiens2.apis.feature_analysis import extract_folder
from sapiens2.engine.hooks import BackboneFreezeHook
from sapiens2.models.backbones import Sapiens2
from sapiens2.utils.checkpoint import CheckpointMismatchError, read_state_dict, save_safetensors, select_prefix
from sapiens2.utils.checkpoint_conversion import export_backbone

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_tiny_continue_pretrain_cpu.py')
FREEZE, WARMUP, MULT, TOTAL, LR = 40, 40, 0.3, 120, 1e-3  # the tiny config's values (checked below)
RELEASED_ITERS = 100


def _config(root, path, **options):
    """A config read with $DATA_ROOT / $SAPIENS_CHECKPOINT_ROOT pointing into ``root``."""
    env = dict(DATA_ROOT=str(root / 'data') + '/', SAPIENS_CHECKPOINT_ROOT=str(root / 'host'))
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cfg = Config.fromfile(path)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    cfg.merge_from_dict(options)
    cfg.log_level = 'WARNING'
    cfg.visualizer.name = f'visualizer_{root.name}_{osp.basename(cfg.work_dir)}'  # a fresh named instance
    return cfg


def _train(cfg):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: threading only costs on a shared machine
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        torch.set_num_threads(threads)
    return runner


@pytest.fixture(scope='module')
def continued(tmp_path_factory):
    """A "released" tiny backbone (the teacher of a 100-iteration tiny pretraining run, exported), then the tiny
    continued-pretraining run from it with a checkpoint every 10 iterations. Returns (root, released path,
    logged scalars, runner)."""
    root = tmp_path_factory.mktemp('continue')
    images = root / 'data' / 'tiny_images'
    images.mkdir(parents=True)
    for path in sorted(glob.glob(osp.join(COCO_WHOLEBODY_SAMPLE, '*.jpg'))):
        img = cv2.imread(path)
        cv2.imwrite(str(images / osp.basename(path)), cv2.resize(img, (img.shape[1] // 3, img.shape[0] // 3)))
    pre = _config(root, osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_tiny_pretrain_cpu.py'),
                  work_dir=str(root / 'pre'), **{'train_cfg.max_iters': RELEASED_ITERS,
                                                  'model.max_iters': RELEASED_ITERS,
                                                  'default_hooks.checkpoint.interval': RELEASED_ITERS})
    _train(pre)
    released = str(root / 'host' / 'pretrain' / 'sapiens2_tiny_pretrain.safetensors')
    export_backbone(str(root / 'pre' / f'iter_{RELEASED_ITERS}.pth'), released, 'teacher')
    cfg = _config(root, CONFIG, work_dir=str(root / 'work'),
                  **{'default_hooks.checkpoint.interval': 10, 'default_hooks.checkpoint.max_keep_ckpts': -1})
    runner = _train(cfg)
    scalars = [json.loads(line) for line in open(glob.glob(str(root / 'work' / '*' / 'vis_data' /
                                                                'scalars.json'))[0])]
    yield root, released, [s for s in scalars if 'loss_mae' in s], runner
    shutil.rmtree(root, ignore_errors=True)


def _state(root, it, work='work'):
    return torch.load(str(root / work / f'iter_{it}.pth'), map_location='cpu', weights_only=False)


def test_config_values():
    cfg = Config.fromfile(CONFIG)
    hook = next(h for h in cfg.custom_hooks if h['type'] == 'BackboneFreezeHook')
    assert (hook['freeze_iters'], hook['lr_warmup_iters'], hook['lr_mult']) == (FREEZE, WARMUP, MULT)
    assert cfg.train_cfg.max_iters == TOTAL and cfg.optim_wrapper.optimizer.lr == LR
    assert [h['type'] for h in cfg.custom_hooks] == ['TeacherEMAHook', 'BackboneFreezeHook']


@pytest.mark.parametrize('size', ['0.1b', '0.4b', '0.8b', '1b', '1b-4k', '5b'])
def test_size_configs_change_only_the_start_and_schedule(size):
    """Each size: its pretraining config's model and data, the released file of that size, the freeze hook after
    the teacher hook, one length for the run, the schedule and the teacher momentum, and DDP told about unused
    parameters."""
    pre = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pretrain', f'sapiens2_{size}_pretrain.py'))
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pretrain', f'sapiens2_{size}_continue_pretrain.py'))
    assert cfg.model.backbone == pre.model.backbone and cfg.model.dino_head == pre.model.dino_head
    assert cfg.train_dataloader == pre.train_dataloader and cfg.optim_wrapper == pre.optim_wrapper
    assert cfg.model.backbone_checkpoint.endswith(f'/pretrain/sapiens2_{size}_pretrain.safetensors')
    assert [h['type'] for h in cfg.custom_hooks] == ['TeacherEMAHook', 'BackboneFreezeHook']
    hook = cfg.custom_hooks[1]
    assert hook['freeze_iters'] > 0 and hook['lr_warmup_iters'] > 0
    iters = cfg.train_cfg.max_iters
    assert iters == cfg.model.max_iters == cfg.param_scheduler[-1]['end'] < pre.train_cfg.max_iters
    assert hook['freeze_iters'] + hook['lr_warmup_iters'] < iters
    assert cfg.strategy.type == pre.strategy.type
    if 'DDP' in cfg.strategy.type:
        assert cfg.strategy.model_wrapper.find_unused_parameters is True


def test_backbone_bit_identical_during_warmup_then_trains(continued):
    """Student and teacher backbones equal the released file bit for bit through iteration 40 while the heads
    train; AdamW kept no state for the frozen parameters (no step, no weight decay); after 40 both move."""
    root, released, _, runner = continued
    ref = read_state_dict(released)
    states = {it: _state(root, it) for it in (20, 40, 60, 120)}
    for it in (20, 40):
        sd = states[it]['state_dict']
        for prefix in ('backbone.', 'teacher.module.backbone.'):
            got = select_prefix(sd, prefix)
            assert set(got) == set(ref), prefix
            for k, v in ref.items():
                assert torch.equal(got[k], v), f'{prefix}{k} moved at iteration {it}'
    for name in ('dino_head.prototypes.weight', 'mae_decoder.mask_token', 'teacher.module.dino_head.prototypes.weight'):
        assert not torch.equal(states[20]['state_dict'][name], states[40]['state_dict'][name]), name
    for it in (60, 120):
        for key in ('backbone.blocks.0.attn.wq.weight', 'teacher.module.backbone.blocks.0.attn.wq.weight'):
            assert not torch.equal(states[it]['state_dict'][key], ref['blocks.0.attn.wq.weight']), (it, key)
    # optimiser state: parameter i of the optimiser is the i-th trainable model parameter (one group each)
    names = [n for n, p in runner.model.named_parameters() if not n.startswith('teacher.')]
    backbone_ids = [i for i, n in enumerate(names) if n.startswith('backbone.')]
    head_ids = [i for i, n in enumerate(names) if n.startswith(('dino_head.', 'mae_decoder.'))]
    assert len(backbone_ids) > 20 and len(head_ids) > 10
    for it, backbone_stepped in ((40, False), (60, True)):
        optim_state = states[it]['optimizer']['state']
        assert all(i in optim_state for i in head_ids)
        assert all((i in optim_state) == backbone_stepped for i in backbone_ids), it
    assert int(states[60]['optimizer']['state'][backbone_ids[0]]['step']) == 20
    # the checkpoints hold the schedule's lr (1e-3 after the 10-iteration warm-up), not the hook's scaled one
    assert all(g['lr'] == pytest.approx(LR) for g in states[60]['optimizer']['param_groups'])
    assert all(p.requires_grad for n, p in runner.model.named_parameters() if n.startswith('backbone.'))


def test_backbone_lr_is_zero_then_ramps(continued):
    """Logged backbone lr (iteration i, 1-based): 0 while frozen, LR * MULT * (i - 40) / 40 during the ramp."""
    _, _, scalars, _ = continued
    logged = {s['iter']: s['backbone_lr'] for s in scalars}
    assert set(logged) >= {5, 40, 45, 60, 80, 85, 120}
    for i, lr in logged.items():
        expected = 0.0 if i <= FREEZE else LR * MULT * min(1.0, (i - FREEZE) / WARMUP)
        assert lr == pytest.approx(expected, rel=1e-6, abs=1e-12), i


def test_every_loss_falls(continued):
    """Window means (log_processor window 20): the first 10 iterations against the last 20. KoLeo starts near its
    floor (the released backbone spreads the 4 images already) and is only asked to fall."""
    _, _, scalars, _ = continued
    first = next(s for s in scalars if s['iter'] == 10)
    last = scalars[-1]
    assert last['iter'] == TOTAL
    for key, margin in (('loss', 0.8), ('loss_mae', 0.85), ('loss_cl', 0.8)):
        assert last[key] < margin * first[key], (key, first[key], last[key])
    assert last['loss_koleo'] < first['loss_koleo'], (first['loss_koleo'], last['loss_koleo'])


def _features(checkpoint, arch):
    backbone = Sapiens2(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=checkpoint)).eval()
    backbone.init_weights()
    paths = sorted(glob.glob(osp.join(COCO_WHOLEBODY_SAMPLE, '*.jpg')))
    with torch.no_grad():
        return extract_folder(backbone, paths, size=(128, 96), with_patches=True)


def _cosine(a, b):
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def test_exported_features_stay_close(continued, tmp_path):
    """The exported teacher backbone (the default export) on the 4 bundled images at 128x96, against the released
    one. Measured (seed 0): [CLS] cosine 0.958-0.995, patch cosine mean 0.958; the same run without the warm-up
    (freeze 0, no ramp) gives [CLS] min 0.858, patch mean 0.909, and at the heads' lr (mult 1.0) 0.788 / 0.843."""
    root, released, _, runner = continued
    out = str(tmp_path / 'continued.safetensors')
    export_backbone(str(root / 'work' / f'iter_{TOTAL}.pth'), out, 'teacher')
    arch = runner.cfg.model.backbone['arch']
    before, after = _features(released, arch), _features(out, arch)
    assert len(before['cls']) == 4
    cls, patches = _cosine(before['cls'], after['cls']), _cosine(before['patches'], after['patches'])
    assert cls.min() > 0.93 and patches.mean() > 0.93, (cls, patches.mean())
    assert cls.max() < 1 - 1e-4  # it did train


def test_resume_before_the_boundary_matches(continued):
    """Resumed from iteration 30 (frozen) through the unfreeze to 50: every tensor equals the uninterrupted run's
    (and the backbone did move in between)."""
    root, _, _, _ = continued
    cfg = _config(root, CONFIG, work_dir=str(root / 'resumed'), resume=True,
                  load_from=str(root / 'work' / 'iter_30.pth'),
                  **{'train_cfg.max_iters': 50, 'default_hooks.checkpoint.interval': 10})
    _train(cfg)
    ref, got = _state(root, 50)['state_dict'], _state(root, 50, 'resumed')['state_dict']
    assert not torch.equal(ref['backbone.cls_token'], _state(root, 30)['state_dict']['backbone.cls_token'])
    assert set(ref) == set(got)
    for k, v in ref.items():
        assert torch.equal(got[k], v), k


def test_backbone_checkpoint_mismatch_names_file_and_key(tmp_path):
    """A released file missing a key (or of another size) fails strictly, naming the file and the key."""
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    cfg = Config.fromfile(CONFIG)
    model_cfg = dict(cfg.model, backbone_checkpoint=str(tmp_path / 'missing.safetensors'))
    with pytest.raises(FileNotFoundError, match='missing.safetensors'):
        MODELS.build(model_cfg).init_weights()
    bb = Sapiens2(arch=cfg.model.backbone['arch'])
    state = bb.state_dict()
    state.pop('cls_token')
    path = str(tmp_path / 'partial.safetensors')
    save_safetensors(state, path)
    model = MODELS.build(dict(cfg.model, backbone_checkpoint=path))
    with pytest.raises(CheckpointMismatchError, match=r'partial\.safetensors[\s\S]*missing key\(s\): cls_token'):
        model.init_weights()


def test_hook_lr_factor_and_groups():
    """The factor by hand; a parameter group mixing backbone and other parameters is refused."""
    hook = BackboneFreezeHook(freeze_iters=3, lr_warmup_iters=4, lr_mult=0.5)
    assert [hook.lr_factor(i) for i in range(9)] == [0, 0, 0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5]
    assert BackboneFreezeHook(freeze_iters=2).lr_factor(2) == 1.0

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    class FakeRunner:
        model = Model()
        optim_wrapper = type('W', (), dict(optimizer=torch.optim.AdamW(model.parameters())))()
    with pytest.raises(ValueError, match='mixes backbone parameters with others'):
        hook._groups(FakeRunner)

    # one group per parameter (as paramwise_cfg builds them): frozen by iteration count, fresh or resumed
    from mmengine.logging import MessageHub
    runner = FakeRunner
    runner.optim_wrapper.optimizer = torch.optim.AdamW([dict(params=[p]) for p in runner.model.parameters()], lr=0.1)
    runner.message_hub = MessageHub.get_instance('test_backbone_freeze_hook')
    groups = runner.optim_wrapper.optimizer.param_groups  # backbone.weight, backbone.bias, head.weight, head.bias
    for start, frozen in ((0, True), (2, True), (3, False), (5, False)):  # a fresh run, resumes
        runner.iter = start
        hook.before_train(runner)
        assert [p.requires_grad for p in runner.model.parameters()] == [not frozen] * 2 + [True] * 2, start
    for it, factor in ((2, 0.0), (3, 0.125), (6, 0.5)):
        runner.iter = it
        hook.before_train_iter(runner, 0)
        assert [g['lr'] for g in groups] == [0.1 * factor] * 2 + [0.1] * 2, it
        assert runner.model.backbone.weight.requires_grad == (it >= 3)
        assert runner.message_hub.get_scalar('train/backbone_lr').current() == 0.1 * factor
        hook.after_train_iter(runner, 0)
        assert [g['lr'] for g in groups] == [0.1] * 4  # the schedulers see their own values
    with pytest.raises(ValueError, match='must be >= 0'):
        BackboneFreezeHook(freeze_iters=-1)
