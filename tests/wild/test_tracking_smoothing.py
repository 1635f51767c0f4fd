"""IoU/Hungarian tracking (stable ids, crossing people, lost-track timeout) and One-Euro smoothing."""
import numpy as np
import pytest

from sapiens2.apis.tracking import IoUTracker
from sapiens2.utils.one_euro import OneEuroFilter, TrackSmoother


def test_ids_stable_under_motion_and_order():
    tr = IoUTracker(iou_thr=0.3, max_lost=2)
    a, b = np.array([0, 0, 50, 100.]), np.array([200, 0, 250, 100.])
    assert tr.update(np.stack([a, b])).tolist() == [1, 2]
    for t in range(1, 6):
        shift = np.array([5, 0, 5, 0.]) * t
        order = [1, 0] if t % 2 else [0, 1]  # the detector lists people in any order
        ids = tr.update(np.stack([a + shift, b - shift])[order])
        assert ids.tolist() == [1, 2][::-1] if t % 2 else [1, 2]


def test_hungarian_prefers_the_global_best_match():
    tr = IoUTracker(iou_thr=0.1)
    tr.update(np.array([[0, 0, 100, 100], [60, 0, 160, 100.]]))
    # box 0 overlaps both tracks; greedy-by-row would take track 1 for it and leave box 1 to start a new track
    ids = tr.update(np.array([[30, 0, 130, 100], [0, 0, 95, 100.]]))
    assert sorted(ids.tolist()) == [1, 2] and ids.tolist() == [2, 1]


def test_lost_track_timeout_and_new_ids():
    tr = IoUTracker(iou_thr=0.3, max_lost=2)
    box = np.array([[0, 0, 50, 100.]])
    assert tr.update(box).tolist() == [1]
    tr.update(np.zeros((0, 4)))
    tr.update(np.zeros((0, 4)))
    assert tr.update(box).tolist() == [1]  # back within the timeout: same id
    for _ in range(3):
        tr.update(np.zeros((0, 4)))
    assert tr.ended == [1]
    assert tr.update(box).tolist() == [2]  # gone for longer: a new id, 1 is never reused
    assert tr.update(np.array([[400, 0, 450, 100.]])).tolist() == [3]  # no overlap: new person
    with pytest.raises(ValueError, match='iou_thr'):
        IoUTracker(iou_thr=2)


def test_one_euro_reduces_jitter_and_follows_motion():
    rng = np.random.default_rng(0)
    t = np.arange(200) / 30.0
    truth = np.stack([100 + 0 * t, 50 + 20 * t], -1)  # still in x, moving in y
    noisy = truth + rng.normal(0, 2.0, truth.shape)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    out = np.stack([f(x, ti) for x, ti in zip(noisy, t)])
    jitter = lambda a: np.abs(np.diff(a, 2, axis=0)).mean()  # noqa: E731
    assert jitter(out) < 0.25 * jitter(noisy)
    assert np.abs(out[50:] - truth[50:]).mean() < np.abs(noisy[50:] - truth[50:]).mean()
    with pytest.raises(ValueError, match='min_cutoff'):
        OneEuroFilter(min_cutoff=0)


def test_track_smoother_keeps_tracks_apart():
    sm = TrackSmoother(min_cutoff=0.5)
    k1, k2 = np.zeros((1, 3, 2)), np.full((1, 3, 2), 100.0)
    sm([1], k1, 0.0)
    sm([2], k2, 0.0)
    out = sm([2, 1], np.concatenate([k2 + 1, k1 + 1]), 1 / 30)
    assert 100 < out[0, 0, 0] < 101 and 0 < out[1, 0, 0] < 1
    sm.drop([1])
    assert list(sm.filters) == [2]
