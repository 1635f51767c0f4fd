"""A tiny model per dense task trains and evaluates end to end on synthetic data (MMEngine Runner, CPU)."""
import math
import os.path as osp

import numpy as np
import pytest
from mmengine import Config

from conftest import REPO_ROOT
from sapiens2.datasets.synthetic import write_synthetic_dataset

CONFIGS = dict(seg='configs/seg/sapiens2_tiny_seg29_synthetic.py',
               normal='configs/geometry/sapiens2_tiny_normal_synthetic.py',
               pointmap='configs/geometry/sapiens2_tiny_pointmap_synthetic.py',
               albedo='configs/geometry/sapiens2_tiny_albedo_synthetic.py')
EXPECTED = dict(seg=['aAcc', 'mIoU', 'mAcc', 'IoU.Torso', 'Acc.Left_Upper_Arm'],
                normal=['normal/mean', 'normal/median', 'normal/rmse', 'normal/within_11.25'],
                pointmap=['pointmap/l2', 'pointmap/rmse', 'pointmap/abs_z', 'pointmap/metric_l2'],
                albedo=['albedo/mae', 'albedo/psnr', 'albedo/ssim', 'albedo/grad_l1'])


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('dense_data')
    write_synthetic_dataset(str(root / 'synthetic_dense'), num_samples=4, height=128, width=96)
    return str(root) + '/'


def _runner(task, data_root, work_dir, iters, monkeypatch, **overrides):
    from mmengine.runner import Runner
    monkeypatch.setenv('DATA_ROOT', data_root)
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[task]))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('task', ['seg', 'normal', 'pointmap', 'albedo'])
def test_tiny_model_trains_and_evaluates(task, data_root, tmp_path, monkeypatch):
    runner = _runner(task, data_root, tmp_path, 3 if task == 'seg' else 4, monkeypatch)
    runner.train()
    metrics = runner.test()  # predictions mapped back to the original size (the metrics check the shapes)
    for key in EXPECTED[task]:
        assert key in metrics and math.isfinite(metrics[key]), (key, metrics)
    assert osp.isfile(osp.join(tmp_path, 'iter_%d.pth' % (3 if task == 'seg' else 4)))


def test_albedo_overfits_with_activation_checkpointing(data_root, tmp_path, monkeypatch):
    runner = _runner('albedo', data_root, tmp_path, 30, monkeypatch, **{'model.backbone.with_cp': True})
    assert runner.model.backbone.with_cp
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), losses
