"""A DDP / FSDP config started by plain `tools/train.py` (no launcher) runs as a one-process group."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO_ROOT


@pytest.mark.parametrize('strategy', ['ddp', 'fsdp'])
def test_strategy_config_trains_without_launcher(tmp_path, strategy):
    data = tmp_path / 'data'
    subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools/dataset_converters/make_synthetic_dense.py'),
                    str(data / 'synthetic_dense'), '--num', '2', '--tasks', 'normal', '--height', '64', '--width',
                    '48'], check=True, capture_output=True)
    cfg = tmp_path / f'{strategy}.py'
    cfg.write_text(f"_base_ = ['{REPO_ROOT}/configs/geometry/sapiens2_tiny_normal_synthetic.py', "
                   f"'{REPO_ROOT}/configs/_base_/strategies/{strategy}.py']\n"
                   "train_cfg = dict(max_iters=2, val_interval=100)\n"
                   "default_hooks = dict(logger=dict(interval=1))\n")
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT')}
    env['DATA_ROOT'] = str(data) + '/'
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools/train.py'), str(cfg), '--work-dir',
                          str(tmp_path / 'work')], capture_output=True, text=True, env=env, timeout=300)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'running as a single-process group' in log
    assert 'Iter(train) [2/2]' in log
    assert osp.exists(tmp_path / 'work' / 'iter_2.pth')
