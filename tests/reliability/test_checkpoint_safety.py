"""Issue #12 items 7 and 8: a run killed while writing a checkpoint keeps a complete one (rotation happens only after
the new checkpoint is complete), non-finite weights are never written, and a resumed pretraining run (masks from
torch's global RNG, augmentations from numpy's) equals the uninterrupted one on every rank."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import reliability_helpers as rh
from sapiens2.engine.hooks.safe_checkpoint_hook import publish


def read_last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_kill_during_save_keeps_the_previous_checkpoint(tmp_path):
    """max_keep_ckpts=1, checkpoints at 2 and 4; the process dies half-way through writing iter_4.pth. Before:
    MMEngine had already deleted iter_2.pth, leaving only a truncated iter_4.pth (and last_checkpoint pointing at
    the deleted file). Now iter_2.pth is intact, last_checkpoint names it, and --resume continues from it."""
    work = tmp_path / 'work'
    cfg = rh.write_config(tmp_path / 'cfg.py', "custom_hooks = [dict(type='KillDuringSave', iteration=4)]",
                          "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))")
    res = rh.train(cfg, work)
    assert res.returncode == 137, res.stderr[-3000:]
    assert read_last_checkpoint(work) == str(work / 'iter_2.pth')
    assert torch.load(work / 'iter_2.pth', weights_only=False)['meta']['iter'] == 2  # complete and readable
    assert not osp.exists(work / 'iter_4.pth')  # the torn write never got the real name
    plain = rh.write_config(tmp_path / 'plain.py', "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, "
                            "save_best=None))")
    res = rh.train(plain, work, '--resume')
    assert res.returncode == 0, res.stderr[-3000:]
    assert torch.load(work / 'iter_4.pth', weights_only=False)['meta']['iter'] == 4
    assert sorted(f for f in os.listdir(work) if 'iter_' in f) == ['iter_4.pth']  # rotated, no partial left


def test_kill_during_fsdp_save_keeps_the_previous_dcp_directory(tmp_path):
    """The same with FSDP on 2 processes: rank 0 dies while writing the DCP directory iter_4.pth/."""
    work = tmp_path / 'work'
    cfg = rh.write_config(tmp_path / 'cfg.py', "custom_hooks = [dict(type='KillDuringSave', iteration=4)]",
                          "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))",
                          bases=[f'{rh.REPO}/configs/_base_/strategies/fsdp.py'])
    res = rh.train(cfg, work, nproc=2, timeout=240)
    assert res.returncode != 0
    assert read_last_checkpoint(work) == str(work / 'iter_2.pth')
    files = os.listdir(work / 'iter_2.pth')
    assert {'.metadata', '__0_0.distcp', '__1_0.distcp', 'extra_state.pth'} <= set(files), files
    assert not osp.exists(work / 'iter_4.pth')
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
    dcp_to_torch_save(work / 'iter_2.pth', tmp_path / 'full.pth')  # readable by torch's own reader
    assert 'backbone.cls_token' in torch.load(tmp_path / 'full.pth', weights_only=False)['state_dict']


def test_publish_replaces_files_and_directories(tmp_path):
    for make in (lambda p, text: p.write_text(text),
                 lambda p, text: (p.mkdir(), (p / 'shard').write_text(text))):
        final, partial = tmp_path / 'ckpt', tmp_path / 'ckpt.partial'
        make(final, 'old')
        make(partial, 'new')
        publish(str(partial), str(final))
        assert (final.read_text() if final.is_file() else (final / 'shard').read_text()) == 'new'
        assert sorted(os.listdir(tmp_path)) == ['ckpt']
        (os.remove if final.is_file() else __import__('shutil').rmtree)(final)


def test_non_finite_weights_are_never_written(tmp_path):
    """Weights that became non-finite (here: set to NaN after iteration 3) stop the run at the next save with an
    error naming the tensor; the previous checkpoint stays the last one."""
    work = tmp_path / 'work'
    cfg = rh.write_config(tmp_path / 'cfg.py', "custom_hooks = [dict(type='PoisonWeightsAt', iteration=3)]",
                          "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))")
    res = rh.train(cfg, work)
    assert res.returncode != 0
    assert 'NonFiniteWeightsError: iteration 4: the model holds non-finite weights (backbone.' in res.stderr
    assert read_last_checkpoint(work) == str(work / 'iter_2.pth') and not osp.exists(work / 'iter_4.pth')


@pytest.fixture(scope='module')
def pretrain_images(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    images = root / 'tiny_images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(images / f'{i}.png'), rng.integers(0, 255, (80, 64, 3), dtype=np.uint8))
    return str(root) + '/'


def test_resumed_pretraining_equals_the_uninterrupted_run(tmp_path, pretrain_images):
    """Tiny pretraining, DDP on 2 processes, 4 iterations with a checkpoint at 2; resuming from it gives weights at
    iteration 4 bit-identical to the uninterrupted run (each rank's masks and crops continue their own random
    stream). Before: the RNG restarted from the seed on resume and the weights differed."""
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = ['{rh.REPO}/configs/pretrain/sapiens2_tiny_pretrain_cpu.py', "
                   f"'{rh.REPO}/configs/_base_/strategies/ddp.py']\n"
                   "model = dict(max_iters=4)\n"
                   "train_cfg = dict(max_iters=4, val_interval=100)\n"
                   "train_dataloader = dict(batch_size=1)\n"
                   "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=2))\n")
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    res = rh.train(cfg, straight, nproc=2, DATA_ROOT=pretrain_images)
    assert res.returncode == 0, res.stderr[-3000:]
    res = rh.train(cfg, resumed, '--resume', str(straight / 'iter_2.pth'), nproc=2, DATA_ROOT=pretrain_images)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'RNG state of iteration 2 restored on every rank' in res.stdout + res.stderr
    a = torch.load(straight / 'iter_4.pth', weights_only=False)
    b = torch.load(resumed / 'iter_4.pth', weights_only=False)
    assert len(a['message_hub']['runtime_info']['rng_states']['states']) == 2  # one state per rank
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    start = torch.load(straight / 'iter_2.pth', weights_only=False)['state_dict']
    assert any(not torch.equal(v, start[k]) for k, v in a['state_dict'].items())
