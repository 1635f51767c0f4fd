"""tools/train.py, tools/test.py, tools/dist_train.sh and tools/dist_test.sh on the tiny test config."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from tools_test_helpers import TINY_CONFIG, free_port, run_tool, tool_env


def read_ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """4 iterations of tools/train.py (checkpoints at 2 and 4)."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', work_dir])
    return work_dir


def test_train_writes_checkpoints_and_learns(trained):
    ckpt = read_ckpt(osp.join(trained, 'iter_4.pth'))
    assert ckpt['meta']['iter'] == 4
    assert {'state_dict', 'optimizer', 'message_hub', 'param_schedulers'} <= set(ckpt)
    start = read_ckpt(osp.join(trained, 'iter_2.pth'))['state_dict']
    changed = [k for k, v in ckpt['state_dict'].items() if not torch.equal(v, start[k])]
    assert changed, 'no weight changed between iterations 2 and 4'
    assert osp.isfile(osp.join(trained, 'best_mse_iter_4.pth'))  # save_best of the default runtime


def test_resume_continues_exactly(trained, tmp_path):
    """4 iterations + --resume to 6 give the same weights as 6 iterations in one run (lr schedule, optimizer state,
    data order and iteration counter all restored)."""
    work_dir = str(tmp_path / 'resumed')
    shutil.copytree(trained, work_dir)  # keep the fixture's work dir as it is
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', work_dir, '--resume',
              '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=100'])
    straight = str(tmp_path / 'straight')
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', straight,
              '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=100'])
    resumed, direct = read_ckpt(osp.join(work_dir, 'iter_6.pth')), read_ckpt(osp.join(straight, 'iter_6.pth'))
    assert resumed['meta']['iter'] == 6
    for k, v in direct['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][k], v, rtol=1e-5, atol=1e-6, msg=k)
    four = read_ckpt(osp.join(trained, 'iter_4.pth'))['state_dict']
    assert any(not torch.equal(four[k], v) for k, v in direct['state_dict'].items())


def test_resume_from_path(trained, tmp_path):
    work_dir = str(tmp_path / 'from_path')
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', work_dir, '--resume', osp.join(trained, 'iter_2.pth'),
              '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=100'])
    assert read_ckpt(osp.join(work_dir, 'iter_3.pth'))['meta']['iter'] == 3  # the last checkpoint (save_last)
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))  # started at 2, not from scratch


def reference_mse(checkpoint):
    """The test metric computed by hand: the trained model on the 8 synthetic samples."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from tools_test_modules import ToolsTestDataset

    from sapiens2.registry import MODELS
    cfg = Config.fromfile(TINY_CONFIG)
    init_default_scope('sapiens2')
    model = MODELS.build(cfg.model)
    model.load_state_dict(read_ckpt(checkpoint)['state_dict'])
    model.eval()
    dataset = ToolsTestDataset(num_samples=8, img_size=(64, 48))
    errors = []
    with torch.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            pred = model(sample['inputs'][None], mode='tensor')[0]
            errors.append(((pred - sample['data_samples']['target']) ** 2).mean().item())
    return float(np.mean(errors))


def test_test_tool_writes_metrics_json(trained, tmp_path):
    out = tmp_path / 'metrics.json'
    run_tool(['tools/test.py', TINY_CONFIG, osp.join(trained, 'iter_4.pth'), '--work-dir', str(tmp_path),
              '--out', str(out)])
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'mse'}
    assert metrics['mse'] == pytest.approx(reference_mse(osp.join(trained, 'iter_4.pth')), rel=1e-4)


def test_amp_trains_with_bf16_autocast(tmp_path):
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(tmp_path), '--amp',
              '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100'])
    dumped = (tmp_path / 'tiny_config.py').read_text()
    assert "type='AutocastOptimWrapper'" in dumped and "dtype='bfloat16'" in dumped
    state = read_ckpt(tmp_path / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())
    # fp32 master weights (the RoPE periods are a bf16 buffer by design, docs/architecture.md §1.4)
    assert all(v.dtype == torch.float32 for k, v in state.items() if not k.endswith('rope_embed.periods'))


def test_dist_train_and_dist_test_two_cpu_processes(tmp_path):
    """2 gloo processes: each rank sees half of the data (8 samples / (2 ranks x batch 2) = 2 val iterations)."""
    work_dir = tmp_path / 'dist'
    proc = run_tool(['tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir', str(work_dir)],
                    env=tool_env(PORT=free_port()))
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert 'Iter(train) [4/4]' in log and 'Iter(val) [2/2]' in log
    ckpt = read_ckpt(work_dir / 'iter_4.pth')
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    out = tmp_path / 'dist_metrics.json'
    proc = run_tool(['tools/dist_test.sh', TINY_CONFIG, str(work_dir / 'iter_4.pth'), '2', '--work-dir',
                     str(tmp_path / 'dist_test'), '--out', str(out)], env=tool_env(PORT=free_port()))
    assert 'Iter(test) [2/2]' in proc.stdout + proc.stderr
    # the results of both ranks are gathered: the metric covers all 8 samples
    assert json.loads(out.read_text())['mse'] == pytest.approx(reference_mse(work_dir / 'iter_4.pth'), rel=1e-4)
