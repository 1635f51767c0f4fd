"""SkipNonFiniteOptimWrapper in one process: skipped iterations leave the weights and the optimiser state alone, and
gradient accumulation keeps its cycle (the 2-rank DDP/FSDP case is in test_distributed_strategies.py)."""
import pytest
import torch
from torch import nn

from sapiens2.engine import AutocastOptimWrapper, SkipNonFiniteOptimWrapper


def setup(accumulative_counts=1, wrapper=SkipNonFiniteOptimWrapper):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optim = wrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                    accumulative_counts=accumulative_counts)
    optim.initialize_count_status(model, 0, 100)
    return model, optim


def loss_of(model, x, poison=False):
    loss = model(x).pow(2).mean()
    return loss * float('nan') if poison else loss


X = [torch.randn(4, 3, generator=torch.Generator().manual_seed(i)) for i in range(4)]


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_loss_changes_nothing(value):
    model, optim = setup()
    before = [p.detach().clone() for p in model.parameters()]
    optim.update_params(model(X[0]).pow(2).mean() * value)
    assert optim.skipped_steps == 1
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters()) and not optim.optimizer.state  # no backward, no step


@pytest.mark.parametrize('wrapper', [SkipNonFiniteOptimWrapper, AutocastOptimWrapper])
def test_training_goes_on_as_if_the_bad_iteration_was_not_there(wrapper):
    model, optim = setup(wrapper=wrapper)
    ref, ref_optim = setup(wrapper=wrapper)
    for i, x in enumerate(X):
        with optim.optim_context(model):
            loss = loss_of(model, x, poison=(i == 1))
        optim.update_params(loss)
        if i != 1:
            with ref_optim.optim_context(ref):
                loss = loss_of(ref, x)
            ref_optim.update_params(loss)
    assert optim.skipped_steps == 1 and ref_optim.skipped_steps == 0
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_accumulation_keeps_the_good_half_or_drops_a_cycle_ending_on_a_bad_one():
    """accumulative_counts=2. Cycle 1: good, bad -> the cycle ends on a skipped iteration: dropped, no step.
    Cycle 2: bad, good -> one step with the good micro-batch's gradient (scaled by 1/2 as usual)."""
    model, optim = setup(accumulative_counts=2)
    start = [p.detach().clone() for p in model.parameters()]
    optim.update_params(loss_of(model, X[0]))
    optim.update_params(loss_of(model, X[1], poison=True))
    assert all(torch.equal(a, b) for a, b in zip(start, model.parameters()))
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())  # X[0]'s gradient dropped
    optim.update_params(loss_of(model, X[2], poison=True))
    optim.update_params(loss_of(model, X[3]))
    assert optim.skipped_steps == 2
    ref = nn.Linear(3, 1)
    ref.load_state_dict(dict(zip(['weight', 'bias'], start)))
    (loss_of(ref, X[3]) / 2).backward()
    for p, r in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, r - 0.1 * r.grad)  # first SGD step: momentum buffer = gradient
