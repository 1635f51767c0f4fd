"""The tiny matting model trains on synthetic composites and evaluates with MattingMetric (MMEngine Runner, CPU);
the dense demo writes its alpha matte and composite at the original image size."""
import math
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
from mmengine import Config

from conftest import REPO_ROOT
from sapiens2.datasets.synthetic import make_synthetic_matting_sample, write_synthetic_dataset

CONFIG = osp.join(REPO_ROOT, 'configs', 'matting', 'sapiens2_tiny_matting_synthetic.py')


def test_synthetic_matting_sample_is_a_composite():
    s = make_synthetic_matting_sample(64, 48, seed=3)
    a = s['alpha'][..., None]
    assert np.abs(s['image'] / 255 - (a * s['foreground'] + (1 - a) * s['background'])).max() <= 0.5 / 255 + 1e-6
    soft = (s['alpha'] > 0) & (s['alpha'] < 1)
    assert 0.02 < soft.mean() < 0.4 and (s['alpha'] == 1).mean() > 0.05 and (s['alpha'] == 0).mean() > 0.3


def test_tiny_model_trains_and_evaluates(tmp_path, monkeypatch):
    from mmengine.runner import Runner
    write_synthetic_dataset(str(tmp_path / 'synthetic_dense'), num_samples=4, height=128, width=96,
                            tasks=['matting'])
    monkeypatch.setenv('DATA_ROOT', str(tmp_path) + '/')
    cfg = Config.fromfile(CONFIG)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=16, val_interval=1000)  # evaluated once, by test()
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert np.mean(losses[-4:]) < 0.9 * np.mean(losses[:4]), losses
    for name in ('loss_alpha', 'loss_grad', 'loss_lap', 'loss_comp'):
        assert math.isfinite(runner.message_hub.get_scalar(f'train/{name}').current())
    metrics = runner.test()  # predictions mapped back to the original size (the metric checks the shapes)
    for key in ('matting/sad', 'matting/mse', 'matting/grad', 'matting/conn'):
        assert key in metrics and math.isfinite(metrics[key]) and metrics[key] >= 0, (key, metrics)


def test_dense_demo_writes_alpha_and_composite(tmp_path, monkeypatch):
    from sapiens2.apis.dense_inference import init_dense_model
    from sapiens2.utils.checkpoint import save_safetensors
    roots = write_synthetic_dataset(str(tmp_path / 'data'), num_samples=2, height=80, width=60, tasks=['matting'])
    ckpt = str(tmp_path / 'model.safetensors')
    save_safetensors(init_dense_model(CONFIG).state_dict(), ckpt)
    out = tmp_path / 'out'
    monkeypatch.setattr(sys, 'argv', ['dense_demo.py', CONFIG, ckpt, '--input', osp.join(roots['matting'], 'images'),
                                      '--output', str(out), '--save-pred', '--batch-size', '2'])
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo', 'dense_demo.py'), run_name='__main__')
    for stem in ('00000', '00001'):
        alpha = np.load(out / f'{stem}.npy')
        alpha_png = cv2.imread(str(out / f'{stem}_alpha.png'), cv2.IMREAD_UNCHANGED)
        composite = cv2.imread(str(out / f'{stem}.png'))
        assert alpha.shape == alpha_png.shape == (80, 60) and composite.shape == (80, 60, 3)
        assert 0 <= alpha.min() and alpha.max() <= 1
        assert np.abs(alpha_png.astype(float) - np.round(alpha * 255)).max() == 0
    monkeypatch.setattr(sys, 'argv', ['dense_demo.py', CONFIG, ckpt, '--input', str(out), '--output',
                                      str(tmp_path / 'o2'), '--sequence'])
    with pytest.raises(ValueError, match='matting demo takes an image'):
        runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo', 'dense_demo.py'), run_name='__main__')
