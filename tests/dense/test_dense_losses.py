"""Each dense loss against a hand / numpy computation, with masks and non-finite targets."""
import numpy as np
import pytest
import torch

from sapiens2.models.losses import (ChromaticityL1Loss, CosineSimilarityLoss, DepthNormalizedL1Loss, DiceLoss,
                                    GradientLoss, IntrinsicsConsistencyLoss, MeanColorLoss, MultiScaleL1Loss,
                                    NormalFromPointmapLoss, PixelRegressionLoss, ScaleL1Loss, ShiftInvariantL1Loss,
                                    SILogLoss, WeightedCrossEntropyLoss, normals_from_pointmap)


def _softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.fixture
def seg_case():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 3, 5))
    labels = rng.integers(0, 4, size=(2, 3, 5))
    labels[0, 0, :2] = 255
    labels[1, 2, 4] = 255
    return logits, labels


def test_weighted_cross_entropy_vs_hand(seg_case):
    logits, labels = seg_case
    w = [0.1, 2.0, 3.0, 0.5]
    loss = WeightedCrossEntropyLoss(class_weight=w, ignore_index=255, loss_weight=2.0)(
        torch.tensor(logits), torch.tensor(labels))
    p = _softmax(logits)
    total, count = 0.0, 0
    for b, i, j in np.ndindex(*labels.shape):
        y = labels[b, i, j]
        if y == 255:
            continue
        total += -w[y] * np.log(p[b, y, i, j])
        count += 1
    assert loss.item() == pytest.approx(2.0 * total / count, rel=1e-6)


def test_cross_entropy_rejects_bad_labels_and_weights(seg_case):
    logits, labels = seg_case
    labels[0, 1, 1] = 7
    with pytest.raises(ValueError, match='labels outside'):
        WeightedCrossEntropyLoss()(torch.tensor(logits), torch.tensor(labels))
    with pytest.raises(ValueError, match='class_weight has 3 entries for 4 classes'):
        WeightedCrossEntropyLoss(class_weight=[1, 1, 1])(torch.tensor(logits), torch.tensor(labels) % 4)


def test_dice_vs_hand(seg_case):
    logits, labels = seg_case
    loss = DiceLoss(ignore_index=255, eps=1.0)(torch.tensor(logits), torch.tensor(labels))
    p = _softmax(logits)
    terms = []
    for b in range(2):
        valid = labels[b] != 255
        for c in range(1, 4):  # background excluded
            g = (labels[b] == c) & valid
            if not g.any():
                continue
            pc = p[b, c] * valid
            terms.append(1 - (2 * (pc * g).sum() + 1) / (pc.sum() + g.sum() + 1))
    assert loss.item() == pytest.approx(np.mean(terms), rel=1e-6)


@pytest.fixture
def reg_case():
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(2, 3, 4, 5))
    target = rng.normal(size=(2, 3, 4, 5))
    mask = (rng.random((2, 1, 4, 5)) > 0.3).astype(np.float64)
    target[0, 1, 2, 3] = np.nan  # non-finite target pixels are excluded
    target[1, 0, 0, 0] = np.inf
    valid = mask[:, 0].astype(bool) & np.isfinite(target).all(1)
    return pred, target, mask, valid


def _t(*arrays):
    return [torch.tensor(a) for a in arrays]


@pytest.mark.parametrize('mode', ['l2', 'mse', 'l1'])
def test_pixel_regression_vs_hand(reg_case, mode):
    pred, target, mask, valid = reg_case
    loss = PixelRegressionLoss(mode=mode)(*_t(pred, target, mask))
    d = (pred - target).transpose(0, 2, 3, 1)[valid]  # [N, 3]
    ref = dict(l2=np.linalg.norm(d, axis=1), mse=(d ** 2).mean(1), l1=np.abs(d).mean(1))[mode].mean()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(ref, rel=1e-6)


def test_gradient_loss_vs_hand(reg_case):
    pred, target, mask, valid = reg_case
    loss = GradientLoss(mode='l2')(*_t(pred, target, mask))
    total, count = 0.0, 0
    d = pred - np.where(np.isfinite(target), target, 0)
    for b, i, j in np.ndindex(2, 4, 5):
        for di, dj in ((0, 1), (1, 0)):
            i2, j2 = i + di, j + dj
            if i2 < 4 and j2 < 5 and valid[b, i, j] and valid[b, i2, j2]:
                total += np.linalg.norm(d[b, :, i2, j2] - d[b, :, i, j])
                count += 1
    assert loss.item() == pytest.approx(total / count, rel=1e-6)


def test_cosine_loss_vs_hand(reg_case):
    pred, target, mask, valid = reg_case
    loss = CosineSimilarityLoss()(*_t(pred, target, mask))
    p, t = pred.transpose(0, 2, 3, 1)[valid], target.transpose(0, 2, 3, 1)[valid]
    cos = (p * t).sum(1) / np.linalg.norm(p, axis=1) / np.linalg.norm(t, axis=1)
    assert loss.item() == pytest.approx((1 - cos).mean(), rel=1e-6)


def test_mean_color_and_chromaticity_vs_hand(reg_case):
    pred, target, mask, valid = reg_case
    pred, target = np.abs(pred) + 0.1, np.abs(target) + 0.1
    loss = MeanColorLoss()(*_t(pred, target, mask))
    dists = []
    for b in range(2):
        mp = pred[b][:, valid[b]].mean(1)
        mt = target[b][:, valid[b]].mean(1)
        dists.append(np.linalg.norm(mp - mt))
    assert loss.item() == pytest.approx(np.mean(dists), rel=1e-6)
    chroma = ChromaticityL1Loss(eps=0.0)(*_t(pred, target, mask))
    with np.errstate(invalid='ignore'):  # the non-finite target pixels (excluded below)
        cp, ct = pred / pred.sum(1, keepdims=True), target / target.sum(1, keepdims=True)
    assert chroma.item() == pytest.approx(np.abs(cp - ct).mean(1)[valid].mean(), rel=1e-6)


def test_scale_l1_skips_non_finite_targets():
    loss = ScaleL1Loss(loss_weight=0.5)(torch.tensor([[1.0], [2.0], [5.0]]), torch.tensor([1.5, float('nan'), 3.0]))
    assert loss.item() == pytest.approx(0.5 * (0.5 + 2.0) / 2)


def test_pointmap_recipe_losses_vs_hand(reg_case):
    pred, target, mask, valid = reg_case
    target = np.abs(target) + 0.5  # positive depth
    pred = np.abs(pred) + 0.5
    p, t = pred.transpose(0, 2, 3, 1), target.transpose(0, 2, 3, 1)
    dn = DepthNormalizedL1Loss(clamp=1.0)(*_t(pred, target, mask))
    ref = np.minimum(np.abs(p - t).sum(-1) / t[..., 2], 1.0)[valid].mean()
    assert dn.item() == pytest.approx(ref, rel=1e-6)
    si = SILogLoss(lam=0.85)(*_t(pred, target, mask))
    d = (np.log(p[..., 2]) - np.log(t[..., 2]))[valid]
    assert si.item() == pytest.approx(np.sqrt((d ** 2).mean() - 0.85 * d.mean() ** 2), rel=1e-5)
    sh = ShiftInvariantL1Loss()(*_t(pred, target, mask))
    errs = []
    for b in range(2):
        pb, tb = p[b][valid[b]], t[b][valid[b]]
        errs.append(np.abs((pb - pb.mean(0)) - (tb - tb.mean(0))).mean(1))
    assert sh.item() == pytest.approx(np.concatenate(errs).mean(), rel=1e-6)
    # shift invariance: adding a per-sample translation to the prediction does not change it
    shifted = pred + np.array([1.0, -2.0, 3.0])[None, :, None, None]
    assert ShiftInvariantL1Loss()(*_t(shifted, target, mask)).item() == pytest.approx(sh.item(), rel=1e-6)
    ic = IntrinsicsConsistencyLoss()(*_t(pred, target, mask))
    ray = np.abs(p[..., :2] / p[..., 2:] - t[..., :2] / t[..., 2:]).mean(-1)[valid].mean()
    assert ic.item() == pytest.approx(ray, rel=1e-6)
    # scaling the prediction along the rays (any depth scale) keeps it consistent with the camera
    assert IntrinsicsConsistencyLoss()(*_t(target * 1.7, target, mask)).item() == pytest.approx(0.0, abs=1e-7)
    ms = MultiScaleL1Loss(num_scales=1)(*_t(pred, target, mask))
    assert ms.item() == pytest.approx(np.abs(p - t).mean(-1)[valid].mean(), rel=1e-6)


def test_normals_from_pointmap_match_analytic_sphere_normals():
    from sapiens2.datasets.synthetic import make_synthetic_sample
    s = make_synthetic_sample(96, 72, seed=3)
    K = s['K']
    v, u = np.mgrid[0:96, 0:72]
    z = s['depth']
    points = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])
    n = normals_from_pointmap(torch.tensor(points[None]))[0].numpy()
    m = s['mask'].astype(bool)
    interior = m.copy()
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        interior &= np.roll(m, (di, dj), (0, 1))
    cos = (n * s['normal'][:-1, :-1].transpose(2, 0, 1)).sum(0)[interior[:-1, :-1]]
    assert np.median(cos) > 0.99
    loss = NormalFromPointmapLoss()(torch.tensor(points[None]), torch.tensor(points[None]),
                                    torch.tensor(s['mask'][None, None]))
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_multiscale_l1_averages_full_and_half_resolution():
    rng = np.random.default_rng(4)
    pred, target = rng.normal(size=(1, 3, 4, 6)), rng.normal(size=(1, 3, 4, 6))
    loss = MultiScaleL1Loss(num_scales=2)(*_t(pred, target))

    def pool(x):
        return x.reshape(1, 3, 2, 2, 3, 2).mean((3, 5))

    ref = (np.abs(pred - target).mean() + np.abs(pool(pred) - pool(target)).mean()) / 2
    assert loss.item() == pytest.approx(ref, rel=1e-6)
