"""Skip the optimiser step when the loss is not finite, consistently on every rank."""
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from sapiens2.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(OptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` whose :meth:`update_params` drops an iteration whose loss is NaN or inf
    on any rank: no backward, no optimiser step, a warning naming the iteration and the ranks at fault.

    The decision is all-reduced, so under DDP or FSDP every rank skips together (a rank that skipped its backward
    alone would leave the others waiting in the gradient all-reduce). Because it lives in the optim wrapper, it
    holds whatever the model wrapper (``MMDistributedDataParallel.train_step`` does not call the model's own
    ``train_step``). With gradient accumulation, the gradients accumulated so far are kept; if the skipped
    iteration closes a cycle they are dropped instead of stepped. ``skipped_steps`` counts the skips and, from the
    first one on, is logged with the losses (``train/skipped_steps``).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.skipped_steps = 0

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        non_finite_ranks = (~torch.isfinite(loss.detach())).any().float().reshape(1)  # stays on the device
        all_reduce(non_finite_ranks, op='sum')  # no-op without a process group
        if non_finite_ranks.item() == 0:
            super().update_params(loss, step_kwargs, zero_kwargs)
        else:
            self._inner_count += 1  # keep the accumulation cycle aligned with the iterations
            if self.should_update():
                self.zero_grad(**(zero_kwargs or {}))
            self.skipped_steps += 1
            print_log(f'SkipNonFiniteOptimWrapper: non-finite loss on {int(non_finite_ranks.item())} of '
                      f'{get_world_size()} rank(s) at iteration {self.message_hub.get_info("iter", -1) + 1} '
                      f'(this rank: {float(loss.detach())}); optimiser step skipped on every rank '
                      f'({self.skipped_steps} so far)', logger='current', level=30)
        if self.skipped_steps:
            self.message_hub.update_scalar('train/skipped_steps', self.skipped_steps)
