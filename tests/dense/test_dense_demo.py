"""The dense demo writes pictures and predictions at the original image size (tiny random models)."""
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT
from sapiens2.datasets.synthetic import write_synthetic_dataset

CONFIGS = dict(seg='configs/seg/sapiens2_tiny_seg29_synthetic.py',
               pointmap='configs/geometry/sapiens2_tiny_pointmap_synthetic.py',
               albedo='configs/geometry/sapiens2_tiny_albedo_synthetic.py')


@pytest.mark.parametrize('task', ['seg', 'pointmap', 'albedo'])
def test_dense_demo_writes_pictures(task, tmp_path, monkeypatch):
    from sapiens2.apis.dense_inference import init_dense_model
    from sapiens2.utils.checkpoint import save_safetensors
    roots = write_synthetic_dataset(str(tmp_path / 'data'), num_samples=2, height=80, width=60, tasks=[task])
    img_dir = osp.join(roots[task], 'images' if task == 'seg' else 'rgb')
    config = osp.join(REPO_ROOT, CONFIGS[task])
    ckpt = str(tmp_path / 'model.safetensors')
    save_safetensors(init_dense_model(config).state_dict(), ckpt)
    out = tmp_path / 'out'
    argv = ['dense_demo.py', config, ckpt, '--input', img_dir, '--output', str(out), '--save-pred',
            '--batch-size', '2']
    if task != 'seg':
        argv += ['--fg-mask', osp.join(roots[task], 'mask')]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo', 'dense_demo.py'), run_name='__main__')
    for stem in ('00000', '00001'):
        picture = cv2.imread(str(out / f'{stem}.png'))
        pred = np.load(out / f'{stem}.npy')
        assert picture is not None and pred.shape[:2] == (80, 60)  # 80x60 letterboxed / stretched and mapped back
        if task == 'seg':
            assert picture.shape[1] > 60 and pred.max() < 29  # overlay + legend panel
        if task == 'pointmap':
            assert pred.shape == (80, 60, 3) and (out / f'{stem}.ply').read_text().startswith('ply')
            assert float((out / f'{stem}_scale.txt').read_text()) != 0
        if task == 'albedo':
            assert picture.shape == (80, 120, 3)
