"""One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) for keypoint trajectories, and a per-track smoother.

The filter is an exponential smoother whose cut-off frequency grows with the signal's speed:
``cutoff = min_cutoff + beta * |dx/dt|`` - strong smoothing when a keypoint is still (removes jitter), little lag
when it moves fast. Lower ``min_cutoff`` = less jitter, ``beta`` > 0 = less lag.
"""
from typing import Dict, Iterable, Optional

import numpy as np


def _alpha(cutoff, dt):
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters an array of any fixed shape (e.g. keypoints [K, 2]) sample by sample; ``t`` in seconds (or frames)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0:
            raise ValueError(f'OneEuroFilter: min_cutoff and d_cutoff must be > 0, got {min_cutoff}, {d_cutoff}')
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x_prev: Optional[np.ndarray] = None
        self.dx_prev: Optional[np.ndarray] = None
        self.t_prev: Optional[float] = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x_prev is None or self.x_prev.shape != x.shape:
            self.x_prev, self.dx_prev, self.t_prev = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = max(t - self.t_prev, 1e-6)
        dx = (x - self.x_prev) / dt
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self.dx_prev
        a = _alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
        x_hat = a * x + (1 - a) * self.x_prev
        self.x_prev, self.dx_prev, self.t_prev = x_hat, dx_hat, t
        return x_hat


class TrackSmoother:
    """One ``OneEuroFilter`` per track id over keypoints [K, 2]; ``t`` is the frame index / fps (seconds)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        self.kwargs = dict(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
        self.filters: Dict[int, OneEuroFilter] = {}

    def __call__(self, track_ids: Iterable[int], keypoints: np.ndarray, t: float) -> np.ndarray:
        """track_ids [N], keypoints [N, K, 2] -> smoothed keypoints [N, K, 2] float32."""
        out = np.asarray(keypoints, np.float32).copy()
        for n, tid in enumerate(track_ids):
            f = self.filters.setdefault(int(tid), OneEuroFilter(**self.kwargs))
            out[n] = f(out[n], t)
        return out

    def drop(self, track_ids: Iterable[int]):
        for tid in track_ids:
            self.filters.pop(int(tid), None)
