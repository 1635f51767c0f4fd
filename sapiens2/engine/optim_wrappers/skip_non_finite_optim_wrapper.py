"""Skip the optimiser step when the loss or the gradients are not finite, consistently on every rank, and stop the
run after too many skips in a row."""
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from sapiens2.registry import OPTIM_WRAPPERS


class NonFiniteTrainingError(RuntimeError):
    """Raised on every rank together when ``max_consecutive_skips`` iterations in a row were skipped."""


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(OptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` whose :meth:`update_params` drops an iteration whose loss is NaN or inf
    on any rank: no backward, no optimiser step, a warning naming the iteration and the ranks at fault. A finite loss
    whose gradients are not finite (overflow in backward, an exploding lr) is dropped the same way in :meth:`step`,
    before clipping (which would spread the NaN to every gradient) and before the optimiser touches the weights.

    The decisions are all-reduced, so under DDP or FSDP every rank skips together (a rank that skipped its backward
    alone would leave the others waiting in the gradient all-reduce). Because it lives in the optim wrapper, it
    holds whatever the model wrapper (``MMDistributedDataParallel.train_step`` does not call the model's own
    ``train_step``). With gradient accumulation, the gradients accumulated so far are kept; if the skipped
    iteration closes a cycle they are dropped instead of stepped. ``skipped_steps`` counts the skips and, from the
    first one on, is logged with the losses (``train/skipped_steps``).

    Args:
        max_consecutive_skips (int): after this many skipped iterations in a row the run stops with
            :class:`NonFiniteTrainingError` (raised on every rank at the same iteration) instead of going on with
            weights that no longer train; ``0`` or ``None`` never stops. Default 20.
        **kwargs: as :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, max_consecutive_skips: Optional[int] = 20, **kwargs):
        super().__init__(**kwargs)
        if max_consecutive_skips is not None and (not isinstance(max_consecutive_skips, int)
                                                  or max_consecutive_skips < 0):
            raise ValueError(f'{type(self).__name__}: max_consecutive_skips must be an int >= 0 or None, got '
                             f'{max_consecutive_skips!r}')
        self.max_consecutive_skips = max_consecutive_skips or 0
        self.skipped_steps = 0
        self.consecutive_skips = 0

    # ------------------------------------------------------------------ decisions (all-reduced)
    @staticmethod
    def _ranks_at_fault(bad: torch.Tensor) -> int:
        flag = bad.detach().any().float().reshape(1)  # stays on the device
        all_reduce(flag, op='sum')  # no-op without a process group
        return int(flag.item())

    def _grads_non_finite(self) -> torch.Tensor:
        """True when any local gradient (a DTensor's local shard under FSDP) holds a NaN or an inf."""
        grads = []
        for group in self.optimizer.param_groups:
            for param in group['params']:
                if param.grad is not None:
                    grad = param.grad
                    grads.append(grad.to_local() if hasattr(grad, 'to_local') else grad)
        if not grads:
            return torch.zeros((), dtype=torch.bool)
        norms = torch._foreach_norm(grads)  # one fused pass over the gradients
        return ~torch.isfinite(torch.stack([n.float() for n in norms]).sum())

    def _record_skip(self, what: str, ranks: int, detail: str) -> None:
        self.skipped_steps += 1
        self.consecutive_skips += 1
        iteration = self.message_hub.get_info('iter', -1) + 1
        print_log(f'{type(self).__name__}: non-finite {what} on {ranks} of {get_world_size()} rank(s) at iteration '
                  f'{iteration}{detail}; optimiser step skipped on every rank ({self.skipped_steps} so far, '
                  f'{self.consecutive_skips} in a row)', logger='current', level=30)
        if self.max_consecutive_skips and self.consecutive_skips >= self.max_consecutive_skips:
            first = iteration - self.consecutive_skips + 1
            raise NonFiniteTrainingError(
                f'training stopped at iteration {iteration}: {self.consecutive_skips} consecutive iterations '
                f'({first}-{iteration}) had a non-finite loss or gradient on at least one rank '
                f'(optim_wrapper.max_consecutive_skips={self.max_consecutive_skips}). The weights are those of the '
                f'last step taken (iteration {first - 1}); checkpoints saved since then hold the same weights. '
                'Lower the lr or check the data of these iterations, then resume from a checkpoint saved before '
                'the losses diverged; or raise optim_wrapper.max_consecutive_skips (0 never stops).')

    # ------------------------------------------------------------------ MMEngine's update cycle
    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        ranks = self._ranks_at_fault(~torch.isfinite(loss.detach()))
        if ranks == 0:
            skipped_before = self.skipped_steps
            super().update_params(loss, step_kwargs, zero_kwargs)  # -> self.step(), which checks the gradients
            if self.skipped_steps == skipped_before:
                self.consecutive_skips = 0
        else:
            self._inner_count += 1  # keep the accumulation cycle aligned with the iterations
            if self.should_update():
                self.zero_grad(**(zero_kwargs or {}))
            self._record_skip('loss', ranks, f' (this rank: {float(loss.detach())})')
        if self.skipped_steps:
            self.message_hub.update_scalar('train/skipped_steps', self.skipped_steps)

    def step(self, **kwargs) -> None:
        ranks = self._ranks_at_fault(self._grads_non_finite())
        if ranks:
            self.zero_grad()
            self._record_skip('gradient', ranks, '')
            return
        super().step(**kwargs)
