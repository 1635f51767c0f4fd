"""Dense transforms keep targets physically consistent and the letterbox resize has an exact inverse."""
import copy

import numpy as np
import pytest
import torch

from sapiens2.datasets.synthetic import make_synthetic_sample
from sapiens2.datasets.transforms import (DenseRandomAffine, DenseRandomFlip, LetterboxResize, PackDenseInputs,
                                          canonical_pointmap)
from sapiens2.image_geometry import letterbox_params
from sapiens2.models.estimators.dense_estimator import invert_test_resize

SWAPS = [[5, 14], [6, 15], [7, 16], [8, 17], [9, 18], [10, 19], [11, 20], [12, 21]]


def _results(seed=0, h=192, w=144):
    s = make_synthetic_sample(h, w, seed)
    res = dict(img=s['image'][..., ::-1].copy(), gt_seg_map=s['seg'], gt_normal=s['normal'], gt_depth=s['depth'],
               gt_mask=s['mask'], gt_albedo=s['albedo'], cam_K=s['K'], img_shape=(h, w), ori_shape=(h, w),
               dense_fields=['gt_seg_map', 'gt_normal', 'gt_depth', 'gt_mask', 'gt_albedo'])
    return res


def _normal_consistency(res, k=3):
    """Median cosine between normals derived from the (transformed) depth + K (central differences over 2k pixels,
    n = dP/dv x dP/du, facing the camera) and the (transformed) normal targets, over interior person pixels."""
    p, _ = canonical_pointmap(res['gt_depth'], res['cam_K'])
    p = p.astype(np.float64)
    du = p[k:-k, 2 * k:] - p[k:-k, :-2 * k]
    dv = p[2 * k:, k:-k] - p[:-2 * k, k:-k]
    n = np.cross(dv, du)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
    m = res['gt_mask'].astype(bool)
    interior = m.copy()
    for shift in ((k + 1, 0), (-k - 1, 0), (0, k + 1), (0, -k - 1)):
        interior &= np.roll(m, shift, (0, 1))
    return np.median((n * res['gt_normal'][k:-k, k:-k]).sum(-1)[interior[k:-k, k:-k]])


def test_flip_keeps_normals_pointmap_and_labels_consistent():
    res = _results()
    assert _normal_consistency(res) > 0.999
    before = copy.deepcopy(res)
    out = DenseRandomFlip(prob=1.0, direction='horizontal', swap_seg_labels=SWAPS)(res)
    assert _normal_consistency(out) > 0.999
    np.testing.assert_array_equal(out['gt_normal'][:, ::-1, 0], -before['gt_normal'][..., 0])
    np.testing.assert_array_equal(out['gt_normal'][:, ::-1, 1:], before['gt_normal'][..., 1:])
    for a, b in SWAPS:  # left/right classes swapped
        assert (out['gt_seg_map'] == a).sum() == (before['gt_seg_map'] == b).sum()
    assert (out['gt_seg_map'] == 11).any()
    p0, _ = canonical_pointmap(before['gt_depth'], before['cam_K'])
    p1, _ = canonical_pointmap(out['gt_depth'], out['cam_K'])
    np.testing.assert_allclose(p1[:, ::-1, 0], -p0[..., 0], atol=1e-4)  # mirrored scene: X' = -X
    np.testing.assert_allclose(p1[:, ::-1, 1:], p0[..., 1:], atol=1e-4)


@pytest.mark.parametrize('max_rotation', [0.0, 25.0])
def test_random_affine_updates_intrinsics_and_rotates_normals(max_rotation):
    np.random.seed(1)
    res = _results(seed=2)
    before = copy.deepcopy(res)
    out = DenseRandomAffine(scale_range=(0.9, 1.1), max_shift=0.05, max_rotation=max_rotation, prob=1.0)(res)
    assert _normal_consistency(out) > 0.995  # not rotating the normals gives ~0.988
    if max_rotation == 0:
        # a pure scale + shift keeps every 3-D point: the metric point at a warped pixel equals the original one
        p0, s0 = canonical_pointmap(before['gt_depth'], before['cam_K'])
        p1, s1 = canonical_pointmap(out['gt_depth'], out['cam_K'])
        ratio = before['cam_K'][0, 0] / out['cam_K'][0, 0]
        ys, xs = np.nonzero(out['gt_mask'])
        K0, K1 = before['cam_K'], out['cam_K']
        u0 = np.round((xs - K1[0, 2]) * ratio + K0[0, 2]).astype(int)
        v0 = np.round((ys - K1[1, 2]) * ratio + K0[1, 2]).astype(int)
        ok = (u0 >= 0) & (u0 < 144) & (v0 >= 0) & (v0 < 192)
        metric1 = p1[ys[ok], xs[ok]] / s1
        metric0 = p0[v0[ok], u0[ok]] / s0
        close = np.linalg.norm(metric1 - metric0, axis=1) < 0.02
        assert close.mean() > 0.95


def test_letterbox_records_padding_and_has_an_exact_inverse():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 24, 3), dtype=np.uint8)
    res = dict(img=img.copy(), gt_seg_map=img[..., 0].copy(), dense_fields=['gt_seg_map'], img_shape=(32, 24))
    out = LetterboxResize(scale=(64, 64), interpolation='nearest')(res)
    assert out['img'].shape == (64, 64, 3) and out['pad_param'] == (0, 0, 8, 8) and out['letterbox_scale'] == 2.0
    assert (out['img'][:, :8] == 0).all() and (out['gt_seg_map'][:, :8] == 255).all()
    # the estimators' inverse (the one real path): crop the padding, resize to ori_shape
    pred = torch.tensor(out['img'].transpose(2, 0, 1)).float()
    torch_back = invert_test_resize(pred, dict(pad_param=out['pad_param'], ori_shape=(32, 24)))
    torch.testing.assert_close(torch_back, torch.tensor(img.transpose(2, 0, 1)).float())  # 2x bilinear down
    (new_h, new_w), pad = letterbox_params((33, 20), (64, 48))
    assert (new_h, new_w) == (64, 39) and pad == (0, 0, 4, 5)


def test_letterbox_intrinsics_follow_the_pixels():
    res = _results(seed=4, h=96, w=72)
    before = copy.deepcopy(res)
    out = LetterboxResize(scale=(96, 96))(res)
    packed = PackDenseInputs(task='pointmap')(out)['data_samples']
    _, s0 = canonical_pointmap(before['gt_depth'], before['cam_K'])
    assert packed.metainfo['gt_scale'] == pytest.approx(s0 / out['letterbox_scale'])
    # the principal point moves with the image content: cx' = (cx + 0.5) * s - 0.5 + left
    assert out['cam_K'][0, 2] == pytest.approx((before['cam_K'][0, 2] + 0.5) * 1.0 - 0.5 + out['pad_param'][2])
    assert packed.gt_mask.data[0, :, :out['pad_param'][2]].sum() == 0
