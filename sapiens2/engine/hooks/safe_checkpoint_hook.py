"""MMEngine's ``CheckpointHook`` made safe against interruptions: a checkpoint is written under a temporary name and
renamed when complete, older checkpoints are deleted only after that, non-finite weights are never written, and every
rank's RNG state travels with the checkpoint so that a resumed run draws the same random numbers."""
import os
import os.path as osp
import random
import shutil
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.dist import all_gather_object, all_reduce, barrier, get_rank, get_world_size, is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sapiens2.registry import HOOKS

PARTIAL_SUFFIX = '.partial'  # a checkpoint being written: never read by --resume, replaced by the next save
RNG_INFO_KEY = 'rng_states'  # message hub entry: dict(iter=..., states=[one per rank])


class NonFiniteWeightsError(RuntimeError):
    """Raised (on every rank) instead of writing a checkpoint whose weights hold NaN or inf."""


# ---------------------------------------------------------------------------------------------------- RNG states
def get_rng_state() -> dict:
    """This process's python, numpy, torch (CPU) and, once CUDA is initialised, CUDA generator states."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreRNGBeforeFetch:
    """Stands in for the train loop's dataloader iterator on a resumed run: lets MMEngine's ``skip`` fast-forward
    calls through, then sets this rank's saved RNG state just before the first new batch is fetched (the point
    where the uninterrupted run stood when the checkpoint was written) and hands the loop its iterator back."""

    def __init__(self, loop, skip: int, state: dict):
        self.loop, self.inner, self.skip, self.state = loop, loop.dataloader_iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            return next(self.inner)
        set_rng_state(self.state)
        self.loop.dataloader_iterator = self.inner
        return next(self.inner)

    def __getattr__(self, name):
        return getattr(self.inner, name)


# ---------------------------------------------------------------------------------------------------- files
def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def publish(partial: str, final: str) -> None:
    """Make the complete checkpoint ``partial`` (file or DCP directory) available as ``final``: flushed to disk,
    then renamed. A file replaces an older ``final`` atomically; a directory moves the older one aside first
    (``final.old``, deleted once the new one is in place)."""
    files = [osp.join(d, f) for d, _, fs in os.walk(partial) for f in fs] if osp.isdir(partial) else [partial]
    for path in files:
        _fsync(path)
    if osp.isdir(partial) or osp.isdir(final):
        old = final + '.old'
        if osp.lexists(final):
            _remove(old)
            os.rename(final, old)
        os.rename(partial, final)
        _remove(old)
    else:
        os.replace(partial, final)
    _fsync(osp.dirname(osp.abspath(final)))


def _remove(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path)
    elif osp.lexists(path):
        os.remove(path)


class _DeferredRemovals:
    """The hook's file backend, except that ``remove`` / ``rmtree`` only note the path: MMEngine's rotation
    (``max_keep_ckpts``, the previous best checkpoint) runs before the new checkpoint is written; the noted paths
    are deleted by :meth:`flush` once it is complete."""

    def __init__(self, backend):
        self._backend = backend
        self.pending = []

    def remove(self, path):
        self.pending.append(path)

    def rmtree(self, path):
        self.pending.append(path)

    def flush(self, keep=()) -> None:
        keep = {osp.abspath(p) for p in keep if p}
        pending, self.pending = self.pending, []
        for path in pending:
            if osp.abspath(path) not in keep:
                _remove(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` (same arguments, same file names, same rotation and best-checkpoint
    logic) with these guarantees:

    * **No window without a valid checkpoint.** Every checkpoint (``.pth`` file or FSDP DCP directory) is written
      as ``<name>.partial``, flushed to disk and renamed to ``<name>`` when complete; the checkpoints that
      ``max_keep_ckpts`` rotates out (and a superseded best checkpoint) are deleted only after that. A run killed
      during a save (even with ``max_keep_ckpts=1``) keeps its previous checkpoint, and ``last_checkpoint`` points
      at a complete one. A stale ``*.partial`` is replaced by the next save.
    * **No non-finite checkpoint.** Before writing, every rank checks its (local shard of the) parameters; if any
      is NaN/inf the run stops with :class:`NonFiniteWeightsError` naming the tensor, and the existing checkpoints
      are left as they are.
    * **RNG states.** Every rank's python / numpy / torch (/ CUDA) generator state at the end of the iteration is
      stored in the message hub (``rng_states``, hence in the checkpoint). On resume each rank gets its own state
      back right before the first new batch is fetched, so masks, augmentations and dropout continue exactly
      (same number of ranks; otherwise a warning). Validation runs do not consume the training RNG: the state is
      set back after each one, in uninterrupted and resumed runs alike.

    Remote (non-local) ``out_dir`` backends get MMEngine's behaviour.
    """

    def __init__(self, **kwargs):
        # MMEngine's CheckpointHook keeps unknown keyword arguments for runner.save_checkpoint, which takes none
        # beyond those it is given: a misspelled option (`intervel=...`) used to fail only at the first save.
        from sapiens2.utils.config_check import check_keys, init_args
        check_keys(f'default_hooks.checkpoint ({type(self).__name__})', kwargs, init_args(CheckpointHook))
        super().__init__(**kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._atomic = isinstance(getattr(self.file_backend, '_backend', self.file_backend), LocalBackend)
        if self._atomic and not isinstance(self.file_backend, _DeferredRemovals):
            self.file_backend = _DeferredRemovals(self.file_backend)
            if is_main_process() and osp.isdir(self.out_dir):
                for name in sorted(os.listdir(self.out_dir)):  # left by a run interrupted while saving
                    path = osp.join(self.out_dir, name)
                    if name.endswith('.old') and not osp.lexists(path[:-4]):  # killed between the two renames
                        runner.logger.warning(f'SafeCheckpointHook: restoring {name[:-4]} from {name}')
                        os.rename(path, path[:-4])
                    elif name.endswith((PARTIAL_SUFFIX, '.old')):
                        runner.logger.warning(f'SafeCheckpointHook: removing the incomplete checkpoint {name}')
                        _remove(path)
        self._val_rng_state = None

    def before_train_epoch(self, runner) -> None:
        super().before_train_epoch(runner)
        info = runner.message_hub.get_info(RNG_INFO_KEY)
        if runner.iter == 0 or info is None:
            return
        states = info.get('states', [])
        if info.get('iter') != runner.iter or len(states) != get_world_size():
            print_log(f'SafeCheckpointHook: RNG states not restored (saved at iteration {info.get("iter")} by '
                      f'{len(states)} rank(s); resuming at iteration {runner.iter} on {get_world_size()})',
                      logger='current', level=30)
            return
        loop = runner.train_loop
        loop.dataloader_iterator = _RestoreRNGBeforeFetch(loop, runner.iter, states[get_rank()])
        print_log(f'SafeCheckpointHook: RNG state of iteration {runner.iter} restored on every rank',
                  logger='current')

    # validation must not shift the training random stream (the resumed run does not validate at its first step)
    def before_val(self, runner) -> None:
        self._val_rng_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_rng_state is not None:
            set_rng_state(self._val_rng_state)
        self._val_rng_state = None

    # ------------------------------------------------------------------ saving
    def _check_finite(self, runner, step) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        bad = None
        for name, param in model.named_parameters():
            local = param.detach().to_local() if hasattr(param, 'to_local') else param.detach()
            if local.numel() and not bool(torch.isfinite(local).all()):
                bad = name
                break
        flag = torch.tensor([0.0 if bad is None else 1.0])
        all_reduce(flag, op='sum')
        if flag.item():
            raise NonFiniteWeightsError(
                f'iteration {step}: the model holds non-finite weights ({bad or "on another rank"}); checkpoint '
                f'{self.filename_tmpl.format(step)} not written, existing checkpoints in {self.out_dir} left as '
                'they are. Resume from the last one with a lower lr.')

    def _store_rng_states(self, runner, meta) -> None:
        local = self._val_rng_state if self._val_rng_state is not None else get_rng_state()
        runner.message_hub.update_info(RNG_INFO_KEY, dict(iter=meta.get('iter'), states=all_gather_object(local)))

    @contextmanager
    def _atomic_saves(self, runner):
        """While active, ``runner.save_checkpoint(out_dir, filename, ...)`` writes ``filename.partial`` and
        publishes it as ``filename`` when complete (the runner instance's method is swapped for the duration)."""
        if not self._atomic or 'save_checkpoint' in vars(runner):
            yield
            return
        original = runner.save_checkpoint

        def save_checkpoint(out_dir, filename, *args, **kwargs):
            final = osp.join(out_dir, filename)
            partial = final + PARTIAL_SUFFIX
            if is_main_process():
                _remove(partial)  # left by an interrupted save
            barrier()  # FSDP: every rank writes into `partial`
            original(out_dir, filename + PARTIAL_SUFFIX, *args, **kwargs)
            if is_main_process():
                publish(partial, final)

        runner.save_checkpoint = save_checkpoint
        try:
            yield
        finally:
            del runner.save_checkpoint

    def _save_checkpoint_with_step(self, runner, step, meta):
        self._check_finite(runner, step)
        self._store_rng_states(runner, meta)
        with self._atomic_saves(runner):
            super()._save_checkpoint_with_step(runner, step, meta)
        self._flush(runner)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if self.save_best:
            self._check_finite(runner, runner.iter)
        with self._atomic_saves(runner):
            super()._save_best_checkpoint(runner, metrics)
        self._flush(runner)

    def _flush(self, runner) -> None:
        if isinstance(self.file_backend, _DeferredRemovals):
            if is_main_process():
                keep = [self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                        *getattr(self, 'best_ckpt_path_dict', {}).values()]
                self.file_backend.flush(keep)
            else:
                self.file_backend.pending = []
