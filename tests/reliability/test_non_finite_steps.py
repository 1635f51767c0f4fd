"""Issue #12 item 1: every training config skips non-finite steps (loss or gradients) on every rank together, counts
and warns about them, and stops with a clear error after `max_consecutive_skips` skips in a row."""
import glob
import os.path as osp

import pytest
import torch
from mmengine import Config
from torch import nn

import reliability_helpers as rh
from sapiens2.engine import NonFiniteTrainingError, SkipNonFiniteOptimWrapper
from sapiens2.registry import OPTIM_WRAPPERS

TRAIN_CONFIGS = sorted(p for p in glob.glob(osp.join(rh.REPO, 'configs', '**', '*.py'), recursive=True)
                       if '_base_' not in p.split(osp.sep))


def test_every_training_config_skips_non_finite_steps():
    """Before: pose / seg / geometry / probing configs used MMEngine's plain OptimWrapper."""
    import sapiens2.engine  # noqa: F401  (registers the wrappers)
    checked = 0
    for path in TRAIN_CONFIGS + [rh.TINY_CONFIG]:
        cfg = Config.fromfile(path)
        if not cfg.get('train_dataloader'):
            continue
        wrapper = OPTIM_WRAPPERS.get(cfg.optim_wrapper.get('type', 'OptimWrapper'))
        assert issubclass(wrapper, SkipNonFiniteOptimWrapper), f'{path}: {wrapper.__name__}'
        assert cfg.optim_wrapper.get('max_consecutive_skips', 0) > 0, path
        checked += 1
    assert checked >= 40


def setup(max_consecutive_skips=3, clip=True):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optim = SkipNonFiniteOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                      max_consecutive_skips=max_consecutive_skips,
                                      clip_grad=dict(max_norm=1.0) if clip else None)
    optim.initialize_count_status(model, 0, 100)
    return model, optim


def test_non_finite_gradient_with_a_finite_loss_is_skipped():
    """A finite loss with a NaN gradient (overflow in backward): before, clipping spread the NaN to every gradient
    and the step made every weight NaN."""
    model, optim = setup()
    before = [p.detach().clone() for p in model.parameters()]
    handle = model.weight.register_hook(lambda g: g * float('nan'))
    optim.update_params(model(torch.ones(2, 3)).pow(2).mean())
    handle.remove()
    assert optim.skipped_steps == 1 and optim.consecutive_skips == 1
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    optim.update_params(model(torch.ones(2, 3)).pow(2).mean())  # a good step resets the streak
    assert optim.consecutive_skips == 0 and all(torch.isfinite(p).all() for p in model.parameters())


def test_consecutive_skips_stop_the_run():
    model, optim = setup(max_consecutive_skips=3)
    bad = lambda: model(torch.ones(2, 3)).sum() * float('nan')  # noqa: E731
    good = lambda: model(torch.ones(2, 3)).pow(2).mean()  # noqa: E731
    for loss in (bad, bad, good, bad, bad):  # 2 in a row, reset, 2 in a row: goes on
        optim.update_params(loss())
    with pytest.raises(NonFiniteTrainingError, match=r'3 consecutive iterations .*max_consecutive_skips=3'):
        optim.update_params(bad())
    assert optim.skipped_steps == 5


def test_unlimited_and_invalid_settings():
    _, optim = setup(max_consecutive_skips=0)
    for _ in range(30):
        optim.update_params(torch.tensor(float('nan'), requires_grad=True))
    assert optim.skipped_steps == 30
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        setup(max_consecutive_skips=-1)


def test_nan_on_one_rank_stops_both_ranks_together(tmp_path):
    """2 processes (torchrun, gloo, the tiny config's real schedule): rank 1's loss is NaN from iteration 2 on. Both
    ranks skip iterations 2-3 together and stop at 3 with the error (no hang, no NaN checkpoint); the checkpoint
    of iteration 2 holds the finite weights of iteration 1."""
    cfg = rh.write_config(tmp_path / 'cfg.py', "custom_hooks = [dict(type='NaNLossFrom', rank=1, iteration=2)]",
                          "optim_wrapper = dict(max_consecutive_skips=2)",
                          "train_cfg = dict(max_iters=6, val_interval=100)")
    res = rh.train(cfg, tmp_path / 'work', nproc=2, timeout=240)
    log = res.stdout + res.stderr
    assert res.returncode != 0, log[-3000:]
    assert 'non-finite loss on 1 of 2 rank(s) at iteration 2' in log
    assert 'rank heartbeats disabled' not in log  # the rank watch runs under torchrun (its agent's store)
    assert log.count('NonFiniteTrainingError: training stopped at iteration 3: 2 consecutive iterations (2-3)') == 2
    state = torch.load(tmp_path / 'work' / 'iter_2.pth', weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())
    assert not osp.exists(tmp_path / 'work' / 'iter_4.pth')
