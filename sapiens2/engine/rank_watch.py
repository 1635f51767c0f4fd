"""Heartbeats through the rendezvous store, so that a rank that stops responding is named by the others.

A collective operation waits for every rank; when one rank stops (SIGSTOP, a hung node, a crashed host that keeps its
sockets open), the others wait until the process group's timeout (``env_cfg.dist_cfg.timeout``) and then fail with a
message that names no rank (gloo: "Timed out waiting 1800000ms for recv operation to complete"; NCCL's watchdog
aborts the process). :class:`RankWatch` runs a daemon thread per rank that bumps a counter in the rendezvous store
(torchrun's agent store, or rank 0's) every ``SAPIENS2_HEARTBEAT_INTERVAL`` seconds (default 5). A process that is
stopped stops bumping it; another rank notices after ``6 x interval`` without a change (its own monotonic clock, no
clock sync needed) and logs an error naming that rank and its last iteration. When the collective then fails,
:func:`watch_ranks` ends the surviving rank with status 1 and a one-line summary naming the unresponsive rank(s),
without torch's exit-time teardown (which could wait on the stopped peer).
"""
import datetime
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Dict, List, Optional, Tuple

import torch.distributed as torch_dist
from mmengine.logging import MessageHub, print_log

INTERVAL_ENV = 'SAPIENS2_HEARTBEAT_INTERVAL'
STALE_FACTOR = 6  # a rank whose counter did not change for STALE_FACTOR intervals stopped responding
_DIST_ERROR_HINTS = ('timed out', 'timeout', 'connection reset', 'connection closed', 'broken pipe',
                     'peer', 'gloo', 'nccl', 'socket')


def _current_iter() -> int:
    try:
        return int(MessageHub.get_current_instance().get_info('iter', -1)) + 1
    except Exception:  # noqa: BLE001  (no message hub yet)
        return 0


class RankWatch:
    """Heartbeat + liveness check of the other ranks (see the module docstring). ``start()`` / ``stop()``."""

    def __init__(self, interval: Optional[float] = None):
        self.interval = float(interval if interval is not None else os.environ.get(INTERVAL_ENV, 5.0))
        self.stale_after = STALE_FACTOR * self.interval
        self.rank, self.world_size = torch_dist.get_rank(), torch_dist.get_world_size()
        self.host, self.port = os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT'])
        self.store = None
        self.beats = 0
        self.seen: Dict[int, Tuple[bytes, float]] = {}  # rank -> (value, local time it last changed)
        self.stale: Dict[int, str] = {}  # rank -> its last reported iteration
        self.store_error: Optional[str] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='sapiens2-rank-watch')

    def _key(self, rank: int) -> str:
        return f'sapiens2/heartbeat/{rank}'

    def start(self) -> 'RankWatch':
        timeout = datetime.timedelta(seconds=max(2.0, 2 * self.interval))
        self.store = torch_dist.TCPStore(self.host, self.port, is_master=False, timeout=timeout,
                                         wait_for_workers=False)
        self._beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        self.beats += 1
        self.store.set(self._key(self.rank), f'{self.beats} {_current_iter()}')

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._beat()
                self.check()
            except Exception as exc:  # noqa: BLE001  (the store itself does not answer)
                if self.store_error is None:
                    self.store_error = (f'the rendezvous store {self.host}:{self.port} does not answer '
                                        f'({type(exc).__name__}); the process hosting it (the torchrun agent, or '
                                        'rank 0 without torchrun) may have stopped')
                    print_log(f'rank {self.rank}: {self.store_error}', logger='current', level=logging.WARNING)

    def check(self) -> List[int]:
        """Read every other rank's counter; report (once) the ranks whose counter has not moved for too long."""
        now = time.monotonic()
        for rank in range(self.world_size):
            if rank == self.rank:
                continue
            key = self._key(rank)
            value = self.store.get(key) if self.store.check([key]) else b''
            last = self.seen.get(rank)
            if last is None or last[0] != value:
                self.seen[rank] = (value, now)
                self.stale.pop(rank, None)
            elif now - last[1] >= self.stale_after and rank not in self.stale:
                self.stale[rank] = value.decode().split()[1] if value else 'none yet'
                print_log(f'rank {self.rank}: rank {rank} stopped responding ({self.describe(rank)}); collective '
                          'operations will fail when env_cfg.dist_cfg.timeout expires', logger='current',
                          level=logging.WARNING)
        return sorted(self.stale)

    def describe(self, rank: int) -> str:
        return (f'no heartbeat for {time.monotonic() - self.seen[rank][1]:.0f} s, last seen at iteration '
                f'{self.stale[rank]}')

    def unresponsive(self) -> Dict[int, str]:
        """The stale ranks; if none is known yet, watch the counters for one more stale period to find them."""
        if not self.stale and self.store_error is None:
            deadline = time.monotonic() + self.stale_after + self.interval
            while not self.stale and time.monotonic() < deadline:
                time.sleep(self.interval)
                try:
                    self.check()
                except Exception:  # noqa: BLE001
                    break
        return {rank: self.describe(rank) for rank in self.stale}


def _looks_distributed(exc: BaseException) -> bool:
    if isinstance(exc, getattr(torch_dist, 'DistError', ())):
        return True
    text = f'{type(exc).__name__} {exc}'.lower()
    return isinstance(exc, RuntimeError) and any(hint in text for hint in _DIST_ERROR_HINTS)


def _exit(status: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def explain_and_exit(watch: Optional[RankWatch], exc: BaseException) -> None:
    """End this rank with status 1 after a failed collective, naming the ranks that stopped responding."""
    first_line = (str(exc).strip().splitlines() or [''])[0][:300]
    rank = torch_dist.get_rank()
    if watch is not None:
        stale = watch.unresponsive()
        if stale:
            cause = '; '.join(f'rank {r} stopped responding ({d})' for r, d in sorted(stale.items()))
        else:
            cause = watch.store_error or 'every other rank is still alive (a failure, not a stop, on another rank)'
    else:
        cause = 'no heartbeat information'
    print_log(f'rank {rank}: a collective operation failed ({type(exc).__name__}: {first_line}); {cause}. '
              'Exiting with status 1.', logger='current', level=logging.WARNING)
    print(f'[sapiens2] rank {rank}: collective operation failed: {cause}', file=sys.stderr, flush=True)
    _exit(1)


@contextmanager
def watch_ranks():
    """Around the work of a distributed run (``tools/train.py``): heartbeats while it runs; a collective that fails
    (timeout, lost peer) ends this rank with status 1 and a message naming the ranks that stopped responding.
    Does nothing without a process group of more than one rank."""
    if not (torch_dist.is_available() and torch_dist.is_initialized()) or torch_dist.get_world_size() < 2 \
            or 'MASTER_ADDR' not in os.environ or 'MASTER_PORT' not in os.environ:
        yield None
        return
    try:
        watch = RankWatch().start()
    except Exception as exc:  # noqa: BLE001  (never stop a run for want of heartbeats)
        print_log(f'rank heartbeats disabled: {type(exc).__name__}: {exc}', logger='current', level=logging.WARNING)
        watch = None
    try:
        yield watch
    except Exception as exc:
        if _looks_distributed(exc) or (watch is not None and watch.stale):
            explain_and_exit(watch, exc)
        raise
    finally:
        if watch is not None:
            watch.stop()
