"""DDP and FSDP (FullyShardStrategy) with 2 CPU processes (gloo): train, save, resume with the same losses as the
uninterrupted run, and checkpoints (consolidated for FSDP) that load into a plain model with the same outputs."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from dist_train_worker import IMG, TinyRegressor  # tests/scale/dist_train_worker.py

from sapiens2.utils.checkpoint import load_state_dict_checked, read_state_dict, save_safetensors

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WORKER = osp.join(osp.dirname(osp.abspath(__file__)), 'dist_train_worker.py')
MAX_ITERS, CKPT_ITER = 6, 3


def torchrun(strategy, work_dir, resume=None, max_iters=MAX_ITERS, **env):
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', WORKER,
           strategy, str(work_dir), str(max_iters)] + ([resume] if resume else [])
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO, **env)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}'
    return proc.stdout + proc.stderr


def results(work_dir):
    return [json.load(open(osp.join(work_dir, f'result_rank{r}.json'))) for r in range(2)]


@pytest.fixture(scope='module', params=['ddp', 'fsdp'])
def runs(request, tmp_path_factory):
    """An uninterrupted 6-iteration run (checkpoints at 3 and 6) and a run resumed from its iteration-3 checkpoint."""
    strategy = request.param
    full, resumed = tmp_path_factory.mktemp(f'{strategy}_full'), tmp_path_factory.mktemp(f'{strategy}_resumed')
    torchrun(strategy, full)
    torchrun(strategy, resumed, resume=str(full / f'iter_{CKPT_ITER}.pth'))
    return strategy, full, resumed


def test_resume_gives_the_uninterrupted_losses(runs):
    strategy, full, resumed = runs
    for rank, (a, b) in enumerate(zip(results(full), results(resumed))):
        assert sorted(a['losses'], key=int) == [str(i) for i in range(1, MAX_ITERS + 1)]
        assert sorted(b['losses'], key=int) == [str(i) for i in range(CKPT_ITER + 1, MAX_ITERS + 1)]
        for it, loss in b['losses'].items():
            assert loss == a['losses'][it], f'{strategy} rank {rank} iter {it}: resumed {loss} vs {a["losses"][it]}'
        assert len(set(a['losses'].values())) == MAX_ITERS  # the model really trains (losses change)
        assert a['master_dtypes'] == ['torch.float32']  # fp32 master weights (FSDP computes in bf16)
    if strategy == 'fsdp':
        assert osp.isfile(full / 'iter_3.pth' / '.metadata')  # a sharded DCP directory
        assert len([f for f in os.listdir(full / 'iter_3.pth') if f.endswith('.distcp')]) == 2  # one shard/rank


def test_checkpoint_loads_into_unsharded_model(runs, tmp_path):
    strategy, full, _ = runs
    final = torch.load(full / 'final.pth', weights_only=False)  # rank 0: output on a fixed input, gathered weights
    model = TinyRegressor().eval()
    if strategy == 'fsdp':
        from sapiens2.utils.checkpoint_conversion import consolidate_fsdp_checkpoint
        out_file = str(tmp_path / 'released.safetensors')
        save_safetensors(consolidate_fsdp_checkpoint(str(full / f'iter_{MAX_ITERS}.pth')), out_file)
        state_dict = read_state_dict(out_file)
    else:
        state_dict = read_state_dict(str(full / f'iter_{MAX_ITERS}.pth'))  # unwrapped keys, no 'module.'
    load_state_dict_checked(model, state_dict, strict=True)  # raises on any missing/unexpected/mis-shaped key
    for key, value in final['state_dict'].items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    # The workers compute with 1 thread (dist_train_worker.py); a different thread count splits the reductions
    # differently (seen: 1.19e-7), so the bit-exact comparison runs with 1 thread too.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            if strategy == 'fsdp':  # FSDP computes with bf16 parameters and inputs: so does the reference here
                out = model.to(torch.bfloat16)(final['input'].to(torch.bfloat16)).float()
            else:
                out = model(final['input'])
    finally:
        torch.set_num_threads(threads)
    assert out.shape == (2, 1, IMG[0] // 16, IMG[1] // 16)
    torch.testing.assert_close(out, final['output'], rtol=0, atol=0)


def test_fsdp_and_ddp_compute_the_same_first_loss(tmp_path_factory):
    """Same init, same data: the first FSDP (bf16 compute) loss matches the DDP (fp32) one within bf16 precision."""
    dirs = {s: [p for p in tmp_path_factory.getbasetemp().iterdir() if p.name.startswith(f'{s}_full')]
            for s in ('ddp', 'fsdp')}
    if not all(dirs.values()):
        pytest.skip('needs both strategy runs of this session')
    ddp, fsdp = results(dirs['ddp'][0]), results(dirs['fsdp'][0])
    for rank in range(2):
        a, b = ddp[rank]['losses']['1'], fsdp[rank]['losses']['1']
        assert a != b and abs(a - b) < 0.02 * abs(a)


@pytest.mark.parametrize('strategy', ['ddp', 'fsdp'])
def test_nan_loss_on_one_rank_skips_the_step_on_both(strategy, tmp_path):
    """SkipNonFiniteOptimWrapper under the DDP wrapper (whose train_step bypasses the model's) and under FSDP: rank 0
    alone gets a NaN loss at iteration 2; both ranks skip that step (no hang in the gradient all-reduce), their
    weights stay as after iteration 1, and training goes on."""
    log = torchrun(strategy, tmp_path, max_iters=3, NAN_LOSS_ON_RANK0_AT='2')
    assert 'non-finite loss on 1 of 2 rank(s) at iteration 2' in log
    for rank, result in enumerate(results(tmp_path)):
        losses, sums = result['losses'], result['weight_sums']
        assert (losses['2'] != losses['2']) == (rank == 0)  # NaN on rank 0 only
        assert result['skipped_steps'] == 1
        assert sums['2'] == sums['1'] != sums['3'], (rank, sums)
