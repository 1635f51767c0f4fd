"""A tiny pretraining run with MMEngine's Runner (every loss component falls without collapse) and the backbone
export."""
import glob
import json
import os
import os.path as osp
import shutil

import math

import cv2
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from sapiens2.models.backbones import Sapiens2
from sapiens2.utils.checkpoint import read_state_dict, select_prefix
from sapiens2.utils.checkpoint_conversion import export_backbone

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """Train configs/pretrain/sapiens2_tiny_pretrain_cpu.py on the 4 bundled COCO images (downscaled, in a
    nested folder) plus one corrupt file; returns (runner, logged scalars, work_dir)."""
    root = tmp_path_factory.mktemp('pretrain')
    images = root / 'data' / 'tiny_images'
    (images / 'nested').mkdir(parents=True)
    for path in sorted(glob.glob(osp.join(COCO_WHOLEBODY_SAMPLE, '*.jpg'))):
        img = cv2.imread(path)
        cv2.imwrite(str(images / 'nested' / osp.basename(path)), cv2.resize(img, (img.shape[1] // 3,
                                                                                   img.shape[0] // 3)))
    (images / 'corrupt.jpg').write_bytes(b'not a jpeg')
    os.environ['DATA_ROOT'] = str(root / 'data') + '/'
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_tiny_pretrain_cpu.py'))
    del os.environ['DATA_ROOT']
    cfg.work_dir = str(root / 'work')
    cfg.log_level = 'WARNING'
    # MMEngine's Visualizer is a named process-wide instance: a unique name keeps an earlier test's save_dir out
    cfg.visualizer.name = f'visualizer_{root.name}'
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: threading only costs on a shared machine
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        torch.set_num_threads(threads)
    scalars = [json.loads(line) for line in open(glob.glob(osp.join(cfg.work_dir, '*', 'vis_data',
                                                                     'scalars.json'))[0])]
    yield runner, [s for s in scalars if 'loss_mae' in s], cfg.work_dir
    shutil.rmtree(root, ignore_errors=True)


def test_loss_components_fall(tiny_run):
    """The total and every component (MAE, DINO CE, KoLeo): the mean over the last 20 iterations is below the mean
    over the first 10, by a margin for the two that carry the signal."""
    _, scalars, _ = tiny_run
    first = next(s for s in scalars if s['iter'] >= 10)  # logged means over the first 10 iterations
    last = scalars[-1]  # mean over the last 20 (log_processor window)
    assert first['iter'] == 10 and last['iter'] == 300
    for key, margin in (('loss', 0.85), ('loss_mae', 0.9), ('loss_cl', 0.9), ('loss_koleo', 1.0)):
        assert last[key] < margin * first[key] if first[key] > 0 else last[key] < first[key], \
            (key, first[key], last[key])


def test_teacher_targets_stay_image_dependent(tiny_run):
    """A falling DINO loss could also mean collapse (every image getting the same target). The logged diagnostics
    say otherwise: the mutual information between image and teacher target, teacher_batch_entropy -
    teacher_entropy, grows and ends well above 0 (0 = collapsed to one prototype or to the uniform distribution;
    at most log 4 with 4 distinct images per batch), while the per-target entropy falls below log K."""
    _, scalars, _ = tiny_run
    first = next(s for s in scalars if s['iter'] >= 10)
    last = scalars[-1]
    information = {when: s['teacher_batch_entropy'] - s['teacher_entropy'] for when, s in (('first', first),
                                                                                             ('last', last))}
    assert information['last'] > max(0.5, 2 * information['first']), information
    assert last['teacher_entropy'] < 0.8 * math.log(256), last['teacher_entropy']


def test_corrupt_image_skipped_and_counted(tiny_run):
    runner, _, _ = tiny_run
    dataset = runner.train_dataloader.dataset
    assert len(dataset) == 5
    assert dataset.num_skipped == 1 and dataset.skipped_paths[0].endswith('corrupt.jpg')


@pytest.mark.parametrize('source', ['teacher', 'student'])
def test_export_loads_strictly_into_pose_style_backbone(tiny_run, tmp_path, source):
    runner, _, work_dir = tiny_run
    ckpt = osp.join(work_dir, 'iter_300.pth')
    out = str(tmp_path / f'sapiens2_tiny_{source}_pretrain.safetensors')
    exported = export_backbone(ckpt, out, source)
    state = read_state_dict(ckpt)
    prefix = 'teacher.module.backbone.' if source == 'teacher' else 'backbone.'
    expected = select_prefix(state, prefix)
    assert set(exported) == set(expected) and not any(k.startswith(('teacher', 'backbone.')) for k in exported)
    cfg = runner.cfg.model.backbone
    backbone = Sapiens2(arch=cfg['arch'], out_type='featmap',
                        init_cfg=dict(type='Pretrained', checkpoint=out))  # strict by default
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(v, expected[k], msg=k)
    assert backbone(torch.randn(1, 3, 64, 48))[0].shape == (1, 32, 4, 3)
    if source == 'teacher':  # the EMA teacher differs from the student after training
        student = select_prefix(state, 'backbone.')
        assert not torch.equal(student['blocks.0.attn.wq.weight'], expected['blocks.0.attn.wq.weight'])
