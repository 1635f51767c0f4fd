"""Resuming an iteration-based run without replaying the trained batches through the data pipeline.

MMEngine's ``IterBasedTrainLoop.run`` calls ``next(dataloader_iterator)`` once per already-trained iteration on a
resumed run: every one of those batches is read, decoded and augmented, then dropped (about 56 minutes per process
for the 1B pose recipe at iteration 20,000). :func:`skip_in_sampler` moves the sampler instead: the train loop's
dataloader restarts at the first index the uninterrupted run had not used yet, and the loop's replay calls become
no-ops (:class:`ResumeIterator`). The index order is exactly the uninterrupted run's for mmengine's
``InfiniteSampler`` (the stream restarts from its seed and drops ``iters x batch_size`` indices) and
``DefaultSampler`` (the epoch is set to ``iters // batches_per_epoch``, as ``_InfiniteDataloaderIterator`` would
have set it, and the first ``remainder x batch_size`` indices of that epoch are dropped), batched by torch's plain
``BatchSampler``. Other samplers / batch samplers keep MMEngine's replay.

Random streams: the main process's python / numpy / torch state is set back right before the first new batch
(``SafeCheckpointHook``), so with ``num_workers=0`` every random augmentation continues exactly. Dataloader workers
(``num_workers > 0``) are separate processes whose generators are seeded from the run's seed, rank and worker id
when they start and then advance with every sample they prepare; without the replay they start the resumed run from
those seeds, so after a resume the *indices* are the uninterrupted run's but the workers' random augmentations are
different draws from the same distributions. ``SafeCheckpointHook(resume_data='replay')`` keeps the replay
(exact worker streams, at the old cost).
"""
import itertools
from typing import Iterator, Optional

from mmengine.dataset import DefaultSampler, InfiniteSampler
from torch.utils.data import BatchSampler, Sampler


class SkipOnceSampler(Sampler):
    """Yields ``sampler``'s indices, dropping the first ``skip`` of its first pass only. Everything else
    (``set_epoch``, ``seed``, ``len``) is the wrapped sampler's."""

    def __init__(self, sampler, skip: int):
        self.sampler, self.skip = sampler, int(skip)

    def __iter__(self) -> Iterator[int]:
        skip, self.skip = self.skip, 0
        it = iter(self.sampler)
        return itertools.islice(it, skip, None) if skip else it

    def __len__(self) -> int:
        return len(self.sampler)

    def __getattr__(self, name):
        if name == 'sampler':  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.sampler, name)


def skip_in_sampler(loop, iters: int) -> Optional[str]:
    """Make ``loop`` (an ``IterBasedTrainLoop``) fetch batch ``iters`` next, as the uninterrupted run would, without
    loading batches ``0 .. iters - 1``. Returns None when done, else why it cannot (the loop is left untouched)."""
    dataloader = loop.dataloader
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if type(batch_sampler) is not BatchSampler:
        return f'batch sampler {type(batch_sampler).__name__} (only torch.utils.data.BatchSampler is skipped)'
    sampler, batch_size = batch_sampler.sampler, batch_sampler.batch_size
    if isinstance(sampler, SkipOnceSampler):
        sampler = sampler.sampler
    iterator = loop.dataloader_iterator
    if not hasattr(iterator, '_iterator') or not hasattr(iterator, '_epoch'):
        return f'dataloader iterator {type(iterator).__name__} (expected MMEngine\'s _InfiniteDataloaderIterator)'
    if isinstance(sampler, InfiniteSampler):
        sampler.indices = sampler._indices_of_rank()  # the stream from its start: no index drawn at loop start
        skip, epoch = iters * batch_size, None
    elif isinstance(sampler, DefaultSampler):
        epoch, rest = divmod(iters, len(batch_sampler))
        skip = rest * batch_size
    else:
        return f'sampler {type(sampler).__name__} (only mmengine InfiniteSampler / DefaultSampler are skipped)'
    if epoch:
        iterator._epoch = epoch
        sampler.set_epoch(epoch)
    batch_sampler.sampler = SkipOnceSampler(sampler, skip)
    iterator._iterator = iter(dataloader)  # a fresh pass (the loop's first one prefetched from index 0)
    return None


class ResumeIterator:
    """Stands in for the train loop's dataloader iterator on a resumed run: answers MMEngine's ``iters`` replay
    calls (with None when the sampler already skipped them, else by fetching them), then sets this rank's saved RNG
    state (if any) just before the first new batch is fetched (the point where the uninterrupted run stood when the
    checkpoint was written) and hands the loop its iterator back."""

    def __init__(self, loop, iters: int, rng_state: Optional[dict], replay: bool):
        self.loop, self.inner, self.skip, self.rng_state, self.replay = (loop, loop.dataloader_iterator, iters,
                                                                         rng_state, replay)

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            return next(self.inner) if self.replay else None
        if self.rng_state is not None:
            from .hooks.safe_checkpoint_hook import set_rng_state
            set_rng_state(self.rng_state)
        self.loop.dataloader_iterator = self.inner
        return next(self.inner)

    def __getattr__(self, name):
        return getattr(self.inner, name)
