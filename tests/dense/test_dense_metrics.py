"""Each dense metric against an independent computation (numpy formulas, scikit-image, a confusion matrix)."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sapiens2.evaluation.metrics import AlbedoMetric, NormalMetric, PointmapMetric, SegMetric


def _sample(task, pred, gt, mask=None, **meta):
    s = {f'pred_{task}': dict(data=torch.tensor(pred)), f'gt_{task}': dict(data=torch.tensor(gt)), **meta}
    if mask is not None:
        s['gt_mask'] = dict(data=torch.tensor(mask[None].astype(np.float32)))
    return s


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_normal_metric_vs_direct_angles():
    rng = np.random.default_rng(0)
    gts = [rng.normal(size=(3, 20, 16)) for _ in range(2)]
    preds = [g + rng.normal(scale=s, size=g.shape) for g, s in zip(gts, (0.2, 0.6))]
    masks = [rng.random((20, 16)) > 0.3 for _ in range(2)]
    out = _run(NormalMetric(), [_sample('normal', p, g, m) for p, g, m in zip(preds, gts, masks)])
    errs = []
    for p, g, m in zip(preds, gts, masks):
        for i, j in zip(*np.nonzero(m)):
            a, b = p[:, i, j], g[:, i, j]
            errs.append(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))
    errs = np.array(errs)
    assert out['mean'] == pytest.approx(errs.mean(), rel=1e-6)
    assert out['rmse'] == pytest.approx(np.sqrt((errs ** 2).mean()), rel=1e-6)
    assert out['median'] == pytest.approx(np.median(errs), rel=1e-6)
    for t in (5, 11.25, 22.5, 30):
        assert out[f'within_{t:g}'] == pytest.approx(100 * (errs < t).mean())
    assert 0 < out['within_5'] < out['within_30'] < 100


def test_pointmap_metric_vs_numpy():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(3, 12, 10)) + np.array([0, 0, 10.0])[:, None, None]
    pred = gt + rng.normal(scale=0.3, size=gt.shape)
    gt[2, 0, 0] = np.nan  # non-finite target: excluded
    mask = rng.random((12, 10)) > 0.2
    out = _run(PointmapMetric(), [_sample('pointmap', pred, gt, mask, pred_scale=2.0, gt_scale=2.5)])
    valid = mask & np.isfinite(gt).all(0)
    e = (pred - gt)[:, valid]
    d = np.linalg.norm(e, axis=0)
    assert out['l2'] == pytest.approx(d.mean()) and out['rmse'] == pytest.approx(np.sqrt((d ** 2).mean()))
    for k, ax in zip(('abs_x', 'abs_y', 'abs_z'), range(3)):
        assert out[k] == pytest.approx(np.abs(e[ax]).mean())
    dm = np.linalg.norm(pred[:, valid] / 2.0 - gt[:, valid] / 2.5, axis=0)
    assert out['metric_l2'] == pytest.approx(dm.mean()) and out['scale_abs'] == pytest.approx(0.5)


def test_albedo_metric_vs_scikit_image():
    rng = np.random.default_rng(2)
    gts = [np.clip(rng.random((3, 32, 24)) * 0.5 + 0.25, 0, 1) for _ in range(2)]
    preds = [np.clip(g + rng.normal(scale=s, size=g.shape), 0, 1) for g, s in zip(gts, (0.05, 0.2))]
    out = _run(AlbedoMetric(), [_sample('albedo', p, g, np.ones((32, 24), bool)) for p, g in zip(preds, gts)])
    hwc = [(p.transpose(1, 2, 0), g.transpose(1, 2, 0)) for p, g in zip(preds, gts)]
    ssim = np.mean([structural_similarity(g, p, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False) for p, g in hwc])
    psnr = np.mean([peak_signal_noise_ratio(g, p, data_range=1.0) for p, g in hwc])
    assert out['ssim'] == pytest.approx(ssim, rel=1e-6)
    assert out['psnr'] == pytest.approx(psnr, rel=1e-6)
    assert out['mae'] == pytest.approx(np.mean([np.abs(p - g).mean() for p, g in zip(preds, gts)]))
    assert out['rmse'] == pytest.approx(np.mean([np.sqrt(((p - g) ** 2).mean()) for p, g in zip(preds, gts)]))
    grads = []
    for p, g in zip(preds, gts):
        d = p - g
        gx, gy = np.abs(np.diff(d, axis=2)), np.abs(np.diff(d, axis=1))
        grads.append((gx.sum() + gy.sum()) / (gx.size + gy.size))
    assert out['grad_l1'] == pytest.approx(np.mean(grads))


def test_seg_metric_vs_confusion_matrix():
    rng = np.random.default_rng(3)
    classes = ('Background', 'A', 'B', 'C')
    metric = SegMetric(ignore_index=255)
    metric.dataset_meta = dict(classes=classes)
    gts, preds = [], []
    for _ in range(2):
        gt = rng.integers(0, 3, size=(10, 8))  # class C never in the ground truth
        gt[0, :3] = 255
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 4, size=gt.shape))
        pred[pred == 255] = 0
        gts.append(gt)
        preds.append(pred)
    samples = [dict(pred_sem_seg=dict(data=torch.tensor(p[None])), gt_sem_seg=dict(data=torch.tensor(g[None])))
               for p, g in zip(preds, gts)]
    out = _run(metric, samples)
    conf = np.zeros((4, 4))
    for p, g in zip(preds, gts):
        v = g != 255
        np.add.at(conf, (g[v], p[v]), 1)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    iou = inter / union
    acc = inter / np.where(conf.sum(1) > 0, conf.sum(1), np.nan)
    assert out['aAcc'] == pytest.approx(100 * inter.sum() / conf.sum(), abs=0.01)
    assert out['mIoU'] == pytest.approx(100 * np.nanmean(iou), abs=0.01)
    assert out['mAcc'] == pytest.approx(100 * np.nanmean(acc), abs=0.01)
    for name, i in zip(classes, iou):
        assert out[f'IoU.{name}'] == pytest.approx(100 * i, abs=0.01)
    assert np.isnan(out['Acc.C'])


def test_metric_errors_name_the_sample():
    with pytest.raises(KeyError, match=r"x\.png has no 'pred_normal'"):
        NormalMetric().process({}, [dict(img_path='x.png', gt_normal=dict(data=torch.zeros(3, 2, 2)))])
    with pytest.raises(ValueError, match='y.png prediction'):
        NormalMetric().process({}, [dict(img_path='y.png', pred_normal=dict(data=torch.zeros(3, 2, 2)),
                                         gt_normal=dict(data=torch.zeros(3, 4, 2)))])
