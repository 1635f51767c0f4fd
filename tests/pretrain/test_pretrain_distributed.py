"""The tiny pretraining run under the DDP and FSDP bases with 2 CPU processes: the EMA teacher follows the student
step by step (DDP: through the model wrapper; FSDP: the sharded parameters), also across a step skipped for a NaN
loss on one rank, and exports from the run's own checkpoint."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

from sapiens2.models.backbones import Sapiens2
from sapiens2.utils.checkpoint_conversion import export_backbone

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT, TINY_ARCH, free_port


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
                   # constant momentum 0.5, a checkpoint per iteration: the EMA recursion can be checked step by step
                   "model = dict(max_iters=3, teacher_momentum=0.5, teacher_momentum_final=0.5)\n"
                   "train_cfg = dict(max_iters=3, val_interval=100)\n"
                   "train_dataloader = dict(batch_size=1)\n"
                   "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3))\n"
                   # rank 0 alone gets a NaN loss at iteration 2: both ranks skip that step and go on
                   "custom_imports = dict(imports=['nan_loss_hook'], allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='TeacherEMAHook'), dict(type='NaNLossOnRank0', iteration=2)]\n")
    env = dict(os.environ, DATA_ROOT=str(tmp_path / 'data') + '/', PORT=str(free_port()), PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([osp.dirname(osp.abspath(__file__)), os.environ.get('PYTHONPATH', '')]))
    res = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
                          str(tmp_path / 'work')], capture_output=True, text=True, env=env, timeout=400)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert 'Iter(train) [3/3]' in log and 'loss_cl' in log
    assert 'non-finite loss on 1 of 2 rank(s) at iteration 2' in log and 'skipped_steps: 1' in log
    states = []
    for it in (1, 2, 3):
        checkpoint = full = tmp_path / 'work' / f'iter_{it}.pth'
        if strategy == 'fsdp':
            assert osp.isdir(checkpoint)  # a sharded (DCP) checkpoint
            full = tmp_path / f'full_{it}.pth'
            dcp_to_torch_save(checkpoint, full)  # torch's own consolidation, independent of ours
        states.append(torch.load(full, weights_only=False)['state_dict'])  # keys carry no DDP prefix
    teacher_keys = [k for k in states[0] if k.startswith('teacher.module.')]
    assert len(teacher_keys) > 40
    assert {'teacher.module.dino_head.prototypes.weight', 'teacher.module.backbone.cls_token'} <= set(teacher_keys)
    # Iteration 2 was skipped on both ranks: the student did not move. After every iteration, skipped or not,
    # every teacher tensor took the EMA step t_k = lerp(t_k-1, s_k, 0.5) -- including, under FSDP, those of the
    # root unit (tokens, patch embed, DINO head) that a forward sees only as unsharded copies, and across the
    # skipped step, where the root unit is left unsharded until update_teacher reshards it.
    for key in teacher_keys:
        student = key[len('teacher.module.'):]
        assert torch.equal(states[1][student], states[0][student]), student
        for k in (1, 2):
            torch.testing.assert_close(states[k][key], torch.lerp(states[k - 1][key], states[k][student], 0.5),
                                       rtol=0, atol=1e-7, msg=f'{key} after iteration {k + 1}')
    assert not torch.equal(states[2]['backbone.cls_token'], states[1]['backbone.cls_token'])  # trains again
    teacher = {k[len('teacher.module.'):]: v for k, v in states[2].items() if k.startswith('teacher.module.')}

    # The teacher backbone exports straight from the run's checkpoint (a DCP directory under FSDP) and loads
    # strictly into a Sapiens2 backbone.
    out = str(tmp_path / 'sapiens2_tiny_pretrain.safetensors')
    exported = export_backbone(str(checkpoint), out, 'teacher')
    backbone = Sapiens2(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=out))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, teacher['backbone.' + key]) and torch.equal(exported[key], value), key
