"""The tiny pretraining run under the FSDP base with 2 CPU processes: the EMA teacher follows the sharded student."""
import os
import os.path as osp
import shutil
import socket
import subprocess

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_tiny_pretraining_runs_under_fsdp(tmp_path):
    images = tmp_path / 'data' / 'tiny_images'
    images.mkdir(parents=True)
    for name in sorted(os.listdir(COCO_WHOLEBODY_SAMPLE))[:2]:
        if name.endswith('.jpg'):
            shutil.copy(osp.join(COCO_WHOLEBODY_SAMPLE, name), images / name)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = ['{REPO_ROOT}/configs/pretrain/sapiens2_tiny_pretrain_cpu.py', "
                   f"'{REPO_ROOT}/configs/_base_/strategies/fsdp.py']\n"
                   "model = dict(max_iters=3)\n"
                   "train_cfg = dict(max_iters=3, val_interval=100)\n"
                   "train_dataloader = dict(batch_size=1)\n"
                   "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))\n")
    env = dict(os.environ, DATA_ROOT=str(tmp_path / 'data') + '/', PORT=str(_free_port()))
    res = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
                          str(tmp_path / 'work')], capture_output=True, text=True, env=env, timeout=400)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert 'Iter(train) [3/3]' in log and 'loss_cl' in log
    assert osp.isdir(tmp_path / 'work' / 'iter_3.pth')  # a sharded (DCP) checkpoint
