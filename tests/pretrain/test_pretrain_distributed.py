"""The tiny pretraining run under the DDP and FSDP bases with 2 CPU processes: the EMA teacher follows the student
(DDP: through the model wrapper; FSDP: the sharded parameters), also across a step skipped for a NaN loss on one
rank."""
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

from sapiens2.models.backbones import Sapiens2

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT, TINY_ARCH

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'convert'))
from pretrain_to_backbone import export_backbone  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('strategy', ['ddp', 'fsdp'])
def test_tiny_pretraining_teacher_follows_student(strategy, tmp_path):
    images = tmp_path / 'data' / 'tiny_images'
    images.mkdir(parents=True)
    for name in sorted(os.listdir(COCO_WHOLEBODY_SAMPLE))[:2]:
        if name.endswith('.jpg'):
            shutil.copy(osp.join(COCO_WHOLEBODY_SAMPLE, name), images / name)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = ['{REPO_ROOT}/configs/pretrain/sapiens2_tiny_pretrain_cpu.py', "
                   f"'{REPO_ROOT}/configs/_base_/strategies/{strategy}.py']\n"
                   # momentum 0: the teacher must equal the student after every step
                   "model = dict(max_iters=3, teacher_momentum=0.0, teacher_momentum_final=0.0)\n"
                   "train_cfg = dict(max_iters=3, val_interval=100)\n"
                   "train_dataloader = dict(batch_size=1)\n"
                   "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))\n"
                   # rank 0 alone gets a NaN loss at iteration 2: both ranks skip that step and go on
                   "custom_imports = dict(imports=['nan_loss_hook'], allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='TeacherEMAHook'), dict(type='NaNLossOnRank0', iteration=2)]\n")
    env = dict(os.environ, DATA_ROOT=str(tmp_path / 'data') + '/', PORT=str(_free_port()),
               PYTHONPATH=os.pathsep.join([osp.dirname(osp.abspath(__file__)), os.environ.get('PYTHONPATH', '')]))
    res = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
                          str(tmp_path / 'work')], capture_output=True, text=True, env=env, timeout=400)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert 'Iter(train) [3/3]' in log and 'loss_cl' in log
    assert 'non-finite loss on 1 of 2 rank(s) at iteration 2' in log and 'skipped_steps: 1' in log
    checkpoint = tmp_path / 'work' / 'iter_3.pth'
    full = checkpoint
    if strategy == 'fsdp':
        assert osp.isdir(checkpoint)  # a sharded (DCP) checkpoint
        full = tmp_path / 'full.pth'
        dcp_to_torch_save(checkpoint, full)  # torch's own consolidation, independent of ours
    # Every teacher parameter took the EMA update (here a copy), including, under FSDP, those of the root unit
    # (tokens, patch embed, DINO head) that a forward sees only as unsharded copies. Keys carry no DDP prefix.
    state = torch.load(full, weights_only=False)['state_dict']
    teacher = {k[len('teacher.module.'):]: v for k, v in state.items() if k.startswith('teacher.module.')}
    assert len(teacher) > 40 and 'dino_head.prototypes.weight' in teacher and 'backbone.cls_token' in teacher
    for key, value in teacher.items():
        assert torch.equal(value, state[key]), key

    # The teacher backbone exports straight from the run's checkpoint (a DCP directory under FSDP) and loads
    # strictly into a Sapiens2 backbone.
    out = str(tmp_path / 'sapiens2_tiny_pretrain.safetensors')
    exported = export_backbone(str(checkpoint), out, 'teacher')
    backbone = Sapiens2(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=out))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, teacher['backbone.' + key]) and torch.equal(exported[key], value), key
