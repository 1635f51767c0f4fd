"""MMEngine's ``CheckpointHook`` made safe against interruptions: a checkpoint is written under a temporary name and
renamed when complete, older checkpoints are deleted only after that, non-finite weights are never written, and every
rank's RNG state travels with the checkpoint so that a resumed run draws the same random numbers."""
import errno
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
from ..resume_data import ResumeIterator, skip_in_sampler

PARTIAL_SUFFIX = '.partial'  # a checkpoint being written: never read by --resume, replaced by the next save
RNG_INFO_KEY = 'rng_states'  # message hub entry: dict(iter=..., states=[one per rank])


class NonFiniteWeightsError(RuntimeError):
    """Raised (on every rank) instead of writing a checkpoint whose weights hold NaN or inf."""


class CheckpointWriteError(RuntimeError):
    """Raised on every rank when writing a checkpoint failed on one or more ranks (e.g. no space left on the
    device); the message names the ranks and the cause. The incomplete checkpoint is removed, the previous
    checkpoints and ``last_checkpoint`` are left as they were. ``no_space`` is True for ENOSPC / EDQUOT."""

    def __init__(self, message: str, no_space: bool = False):
        super().__init__(message)
        self.no_space = no_space


def _root_cause(exc: BaseException) -> BaseException:
    """The OSError (with an errno) behind ``exc``: followed through ``__cause__`` / ``__context__`` and the
    per-rank failures of torch.distributed.checkpoint's ``CheckpointException``; else ``exc``."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno is not None:
            return e
        failures = getattr(e, 'failures', None)
        if isinstance(failures, dict):
            stack.extend(v[0] if isinstance(v, tuple) else v for v in failures.values())
        stack.extend((e.__context__, e.__cause__))
    return exc


def failed_ranks(exc: BaseException) -> dict:
    """{rank: one-line cause}: the ranks named by a DCP ``CheckpointException`` (torch raises the same exception on
    every rank), else this rank."""
    failures = getattr(exc, 'failures', None)
    if isinstance(failures, dict) and failures:
        return {int(r): describe_write_error(v[0] if isinstance(v, tuple) else v) for r, v in failures.items()}
    return {get_rank(): describe_write_error(exc)}


def describe_write_error(exc: BaseException) -> str:
    """One line: 'no space left on device (ENOSPC) writing PATH' for an OSError, else the exception."""
    root = _root_cause(exc)
    if isinstance(root, OSError) and root.errno is not None:
        name = errno.errorcode.get(root.errno, str(root.errno))
        where = f' writing {root.filename}' if root.filename else ''
        return f'{os.strerror(root.errno).lower()} ({name}){where}'
    return f'{type(root).__name__}: {(str(root).strip().splitlines() or [""])[0][:300]}'


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
    * **Resume without replaying data** (``resume_data='skip'``, the default): the train loop's sampler starts at
      the first index not trained on yet instead of MMEngine loading and dropping every trained batch; same index
      order (see :mod:`sapiens2.engine.resume_data` for the samplers handled and what changes for dataloader
      workers' random streams). ``resume_data='replay'`` keeps MMEngine's replay.

    Remote (non-local) ``out_dir`` backends get MMEngine's behaviour.
    """

    def __init__(self, resume_data: str = 'skip', **kwargs):
        # MMEngine's CheckpointHook keeps unknown keyword arguments for runner.save_checkpoint, which takes none
        # beyond those it is given: a misspelled option (`intervel=...`) used to fail only at the first save.
        from sapiens2.utils.config_check import check_keys, init_args
        check_keys(f'default_hooks.checkpoint ({type(self).__name__})', kwargs, init_args(CheckpointHook))
        if resume_data not in ('skip', 'replay'):
            raise ValueError(f"SafeCheckpointHook: resume_data must be 'skip' or 'replay', got {resume_data!r}")
        self.resume_data = resume_data
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
        self._partial = None

    def before_train_epoch(self, runner) -> None:
        super().before_train_epoch(runner)
        loop = runner.train_loop
        if runner.iter == 0 or not hasattr(loop, 'dataloader_iterator'):
            return
        why_not = skip_in_sampler(loop, runner.iter) if self.resume_data == 'skip' else "resume_data='replay'"
        if why_not is None:
            print_log(f'SafeCheckpointHook: the sampler starts at batch {runner.iter} (the {runner.iter} trained '
                      'batches are not loaded again)', logger='current')
        else:
            print_log(f'SafeCheckpointHook: the {runner.iter} trained batches are replayed through the data '
                      f'pipeline ({why_not})', logger='current')
        info = runner.message_hub.get_info(RNG_INFO_KEY)
        state = None
        if info is not None:
            states = info.get('states', [])
            if info.get('iter') != runner.iter or len(states) != get_world_size():
                print_log(f'SafeCheckpointHook: RNG states not restored (saved at iteration {info.get("iter")} by '
                          f'{len(states)} rank(s); resuming at iteration {runner.iter} on {get_world_size()})',
                          logger='current', level=30)
            else:
                state = states[get_rank()]
                print_log(f'SafeCheckpointHook: RNG state of iteration {runner.iter} restored on every rank',
                          logger='current')
        loop.dataloader_iterator = ResumeIterator(loop, runner.iter, state, replay=why_not is not None)

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
            partial = self._partial = final + PARTIAL_SUFFIX
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

    @contextmanager
    def _agreed_outcome(self, runner, what: str):
        """Every rank learns whether the save in the block failed on any rank (one ``all_gather_object`` after
        it) and, if so, raises :class:`CheckpointWriteError` naming the ranks and causes (ENOSPC spelled out):
        a rank that failed alone would otherwise leave the others waiting in the next collective until the
        timeout. The incomplete ``.partial`` is removed (frees the space); previous checkpoints and
        ``last_checkpoint`` (restored if its rewrite failed) stay."""
        last_file = osp.join(runner.work_dir, 'last_checkpoint')
        self._partial, previous = None, None
        if is_main_process() and osp.isfile(last_file):
            with open(last_file) as f:
                previous = f.read()
        local = None
        try:
            yield
        except BaseException as exc:  # noqa: BLE001  (DCP's CheckpointException is a BaseException)
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            local = failed_ranks(exc)
            print_log(f'SafeCheckpointHook: rank {get_rank()}: writing {what} failed: {local}', logger='current',
                      level=40)
        gathered = all_gather_object((local, previous))
        failures = {}
        for ranks, _ in gathered:
            failures.update(ranks or {})
        if not failures:
            return
        previous = gathered[0][1]  # rank 0 reads last_checkpoint
        if is_main_process():
            try:  # frees the space the incomplete checkpoint took
                if self._partial:
                    _remove(self._partial)
            except OSError:
                pass
            if previous is not None:
                try:
                    with open(last_file) as f:
                        intact = f.read() == previous
                except OSError:
                    intact = False
                if not intact:
                    try:
                        with open(last_file, 'w') as f:
                            f.write(previous)
                    except OSError:
                        pass
        if isinstance(self.file_backend, _DeferredRemovals):
            self.file_backend.pending = []  # rotation never happens for a checkpoint that was not written
        no_space = any('(ENOSPC)' in e or '(EDQUOT)' in e for e in failures.values())
        try:
            free = f'{shutil.disk_usage(self.out_dir).free / 2 ** 20:.0f} MiB free now'
        except OSError:
            free = 'free space unknown'
        kept = (f'The previous checkpoint is kept ({previous.strip()}) and last_checkpoint still names it. '
                if (previous or '').strip() else 'There is no earlier checkpoint. ')
        causes = '; '.join(f'rank {r}: {e}' for r, e in sorted(failures.items()))
        raise CheckpointWriteError(
            f'checkpoint {what} was not written: {causes}. '
            + (f'No space left on the disk of {self.out_dir} ({free}, after removing the incomplete checkpoint). '
               if no_space else '')
            + kept
            + ('Free space (or set --work-dir / checkpoint out_dir to a larger disk) and resume with --resume.'
               if no_space else 'Fix the cause and resume with --resume.'), no_space=no_space)

    def _save_checkpoint_with_step(self, runner, step, meta):
        self._check_finite(runner, step)
        self._store_rng_states(runner, meta)
        with self._agreed_outcome(runner, osp.join(self.out_dir, self.filename_tmpl.format(step))):
            with self._atomic_saves(runner):
                super()._save_checkpoint_with_step(runner, step, meta)
        self._flush(runner)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if self.save_best:
            self._check_finite(runner, runner.iter)
        with self._agreed_outcome(runner, f'of the best {self.save_best} in {self.out_dir}'):
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
