"""Warm up freshly initialised heads on a frozen backbone, then unfreeze it with its own learning-rate warm-up
(continued pretraining from a released backbone, configs/pretrain/_base_/continue_pretrain.py)."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch.nn.parallel import DistributedDataParallel

from sapiens2.registry import HOOKS


@HOOKS.register_module()
class BackboneFreezeHook(Hook):
    """Freezes ``model.<module>`` for the first ``freeze_iters`` iterations, then trains it with a learning rate
    that ramps linearly from 0 to ``lr_mult`` × the scheduled lr over ``lr_warmup_iters`` iterations.

    * Frozen (``runner.iter < freeze_iters``): the module's parameters get ``requires_grad=False``, so no gradient
      is computed for them and their ``.grad`` stays ``None`` (the optim wrapper zeroes gradients with
      ``set_to_none``). AdamW skips parameters whose grad is ``None`` entirely: no update, no weight decay, no
      moment or step-count change; gradient clipping ignores them. The weights are unchanged bit for bit.
    * EMA teacher: while the student backbone is frozen and equal to the teacher's (the teacher starts as a copy of
      the student, ``Sapiens2Pretrainer(backbone_checkpoint=...)`` + ``TeacherEMAHook``), the EMA step
      ``lerp(t, s, w)`` with ``t == s`` returns ``t`` exactly, so the teacher backbone does not move either; the
      teacher's DINO head follows the warming-up student head as usual.
    * Backbone lr: the param schedulers act on every parameter group alike, so this hook scales the learning rate of
      the groups that hold the module's parameters (the pretraining configs' ``paramwise_cfg`` gives every parameter
      its own group) by ``factor(iter) = lr_mult * min(1, (iter - freeze_iters + 1) / lr_warmup_iters)`` just for
      the optimiser step of that iteration: it sets them in ``before_train_iter`` and restores the scheduled values
      in ``after_train_iter``, before the ``ParamSchedulerHook`` (priority LOW) steps and the ``CheckpointHook``
      saves, so the schedulers and the checkpoints only ever see the unscaled values. The backbone's actual lr is
      logged as ``backbone_lr``.
    * Resume: everything derives from ``runner.iter``, so a run resumed before, at or after the boundary freezes,
      unfreezes and scales exactly as the uninterrupted run.
    * DDP: a frozen module's parameters take no part in the backward, which MMEngine's DDP wrapper accepts only with
      ``find_unused_parameters=True`` (``strategy.model_wrapper`` / ``model_wrapper_cfg``); the hook raises a
      ``ValueError`` saying so otherwise. Under FSDP2 the flag of the sharded parameters reaches the unsharded ones
      at every unshard.

    Args:
        freeze_iters (int): iterations with the module frozen (>= 0).
        lr_warmup_iters (int): iterations of the module's linear lr warm-up after unfreezing (0: none).
        lr_mult (float): the module's lr relative to the scheduled lr once warmed up. Default 1.0.
        module (str): attribute of the model to freeze. Default ``'backbone'`` (the student backbone of
            :class:`sapiens2.models.Sapiens2Pretrainer`; its EMA teacher's parameters are never trained).
    """

    priority = 'NORMAL'  # after_train_iter: before ParamSchedulerHook (LOW) and CheckpointHook (VERY_LOW)

    def __init__(self, freeze_iters: int, lr_warmup_iters: int = 0, lr_mult: float = 1.0, module: str = 'backbone'):
        if freeze_iters < 0 or lr_warmup_iters < 0 or lr_mult < 0:
            raise ValueError(f'BackboneFreezeHook: freeze_iters ({freeze_iters}), lr_warmup_iters '
                             f'({lr_warmup_iters}) and lr_mult ({lr_mult}) must be >= 0')
        self.freeze_iters = freeze_iters
        self.lr_warmup_iters = lr_warmup_iters
        self.lr_mult = lr_mult
        self.module = module
        self._saved_lrs = None
        self._lr_groups = []
        self._frozen = False

    # ------------------------------------------------------------------ state from the iteration count
    def is_frozen(self, iteration: int) -> bool:
        return iteration < self.freeze_iters

    def lr_factor(self, iteration: int) -> float:
        """Multiplier of the module's scheduled lr at (0-based) ``iteration``: 0 while frozen, then a linear ramp
        reaching ``lr_mult`` at iteration ``freeze_iters + lr_warmup_iters - 1``."""
        if self.is_frozen(iteration):
            return 0.0
        if self.lr_warmup_iters == 0:
            return self.lr_mult
        return self.lr_mult * min(1.0, (iteration - self.freeze_iters + 1) / self.lr_warmup_iters)

    # ------------------------------------------------------------------ helpers
    def _params(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        module = getattr(model, self.module, None)
        if module is None:
            raise AttributeError(f'BackboneFreezeHook: {type(model).__name__} has no attribute {self.module!r} '
                                 '(the `module` argument names the part to freeze)')
        return list(module.parameters())

    def _groups(self, runner):
        """The optimiser parameter groups that hold the module's parameters; every one must hold nothing else."""
        ids = {id(p) for p in self._params(runner)}
        groups = []
        for optimizer in _optimizers(runner.optim_wrapper):
            for group in optimizer.param_groups:
                inside = [id(p) in ids for p in group['params']]
                if any(inside):
                    if not all(inside):
                        raise ValueError(
                            f'BackboneFreezeHook: an optimiser parameter group mixes {self.module} parameters with '
                            'others, so their lr cannot be scheduled separately; give the optim wrapper a '
                            '`paramwise_cfg` (one group per parameter, as configs/_base_/schedules/'
                            'adamw_warmup_cosine.py does)')
                    groups.append(group)
        if not groups and self.lr_mult > 0:
            raise ValueError(f'BackboneFreezeHook: no optimiser parameter group holds the {self.module} parameters')
        return groups

    def _set_frozen(self, frozen: bool):
        """Toggle the module's parameters that the optimiser trains (any it left out stay as they are)."""
        for p in (p for g in self._lr_groups for p in g['params']):
            p.requires_grad_(not frozen)
            if frozen:
                p.grad = None

    # ------------------------------------------------------------------ hook points
    def before_train(self, runner) -> None:
        frozen = self.is_frozen(runner.iter)
        if frozen and isinstance(runner.model, DistributedDataParallel) and not runner.model.find_unused_parameters:
            raise ValueError('BackboneFreezeHook: a frozen backbone takes no part in the backward, which DDP '
                             'accepts only with find_unused_parameters=True: set strategy = dict(model_wrapper=dict('
                             'find_unused_parameters=True)) (or model_wrapper_cfg) in the config')
        self._lr_groups = self._groups(runner)  # fails before the first iteration if the lr cannot be scaled
        self._set_frozen(frozen)
        self._frozen = frozen
        print_log(f'BackboneFreezeHook: {self.module} ' + (
            f'frozen for iterations {runner.iter}-{self.freeze_iters - 1}, then' if frozen else 'trained,') +
            f' lr x {self.lr_mult} after a {self.lr_warmup_iters}-iteration linear warm-up from iteration '
            f'{self.freeze_iters}', logger='current')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        frozen = self.is_frozen(runner.iter)
        if frozen != self._frozen:
            self._set_frozen(frozen)
            self._frozen = frozen
            print_log(f'BackboneFreezeHook: {self.module} {"frozen" if frozen else "unfrozen"} at iteration '
                      f'{runner.iter}', logger='current')
        groups = self._lr_groups
        self._saved_lrs = [g['lr'] for g in groups]
        factor = self.lr_factor(runner.iter)
        for g in groups:
            g['lr'] = g['lr'] * factor
        if groups:
            runner.message_hub.update_scalar('train/backbone_lr', float(groups[0]['lr']))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._saved_lrs is not None:
            for g, lr in zip(self._lr_groups, self._saved_lrs):
                g['lr'] = lr
            self._saved_lrs = None


def _optimizers(optim_wrapper):
    """The torch optimisers behind an ``OptimWrapper`` or an ``OptimWrapperDict``."""
    if hasattr(optim_wrapper, 'optim_wrappers'):
        return [w.optimizer for w in optim_wrapper.optim_wrappers.values()]
    return [optim_wrapper.optimizer]
