"""BatchedUDPHeatmap.batch_decode (torch) against mmpose's UDPHeatmap.decode (numpy) on realistic heatmaps."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmpose.codecs import UDPHeatmap
from mmpose.codecs.utils import get_heatmap_maximum

from sapiens2.codecs import BatchedUDPHeatmap
from sapiens2.registry import KEYPOINT_CODECS

from conftest import COCO_WHOLEBODY_SAMPLE

INPUT_SIZE, HEATMAP_SIZE, SIGMA = (768, 1024), (192, 256), 6  # docs/data_conventions.md §4.3: (W, H) input and heatmap, sigma 6


def wholebody_instances():
    """Every person of the COCO-WholeBody sample: 133 keypoints [N, 133, 2] in a 768x1024 top-down crop of its
    box padded x1.25 (aspect 3:4), and visibility [N, 133]."""
    with open(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')) as f:
        anns = json.load(f)['annotations']
    keypoints, visible = [], []
    for ann in anns:
        kpts = np.concatenate([np.asarray(ann[k], np.float32).reshape(-1, 3) for k in
                               ('keypoints', 'foot_kpts', 'face_kpts', 'lefthand_kpts', 'righthand_kpts')])
        x, y, w, h = ann['bbox']
        cx, cy = x + w / 2, y + h / 2
        w, h = w * 1.25, h * 1.25
        w, h = max(w, h * 0.75), max(h, w / 0.75)
        xy = (kpts[:, :2] - [cx - w / 2, cy - h / 2]) / [w, h] * INPUT_SIZE
        keypoints.append(xy.astype(np.float32))
        visible.append((kpts[:, 2] > 0).astype(np.float32))
    return np.stack(keypoints), np.stack(visible)


def realistic_heatmaps(seed=0):
    """Encode the real keypoints (mmpose UDP, sigma 6), then make them look like predictions: per-keypoint peak
    height, a Gaussian blur, additive noise (negative values included) and a sub-pixel jitter of the peak."""
    rng = np.random.default_rng(seed)
    codec = UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=SIGMA)
    keypoints, visible = wholebody_instances()
    heatmaps = []
    for kpts, vis in zip(keypoints, visible):
        jitter = rng.normal(0, 3.0, kpts.shape).astype(np.float32)
        hm = codec.encode((kpts + jitter)[None], vis[None])['heatmaps']  # [133, 256, 192], zero where invisible
        hm = hm * rng.uniform(0.2, 1.0, (len(hm), 1, 1)).astype(np.float32)
        hm = np.stack([cv2.GaussianBlur(m, (7, 7), 1.5) for m in hm])
        hm += rng.normal(0, 0.01, hm.shape).astype(np.float32)
        heatmaps.append(hm.astype(np.float32))
    return np.stack(heatmaps), visible


@pytest.fixture(scope='module')
def heatmaps():
    return realistic_heatmaps()


def reference_decode(hms):
    codec = UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=SIGMA, blur_kernel_size=11)
    out = [codec.decode(h) for h in hms]
    return np.stack([k for k, _ in out]), np.stack([s for _, s in out])


def test_batch_decode_matches_mmpose_on_real_keypoints(heatmaps):
    hms, visible = heatmaps
    assert hms.shape == (14, 133, 256, 192)
    ref_kpts, ref_scores = reference_decode(hms)
    codec = KEYPOINT_CODECS.build(dict(type='BatchedUDPHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE,
                                       sigma=SIGMA, blur_kernel_size=11, decode_chunk_size=4))
    assert codec.support_batch_decoding
    kpts, scores = codec.batch_decode(torch.from_numpy(hms))
    assert kpts.shape == ref_kpts.shape == (14, 1, 133, 2)
    assert scores.shape == ref_scores.shape == (14, 1, 133)
    err = np.abs(kpts - ref_kpts).max(-1)[:, 0]  # [14, 133]
    assert err[visible > 0].max() < 0.05  # the real keypoints
    # Invisible keypoints are pure noise (clipped logs: mmpose's full-blur path). Where the DARK Newton step stays
    # within 5 heatmap pixels of the argmax they match too; a few noise maps have a near-singular Hessian that
    # throws the keypoint thousands of pixels away, where only the relative error is meaningful.
    ref_argmax = np.stack([get_heatmap_maximum(h)[0] for h in hms])  # [14, 133, 2] heatmap pixels
    ref_grid = ref_kpts[:, 0] / np.array(INPUT_SIZE) * (np.array(HEATMAP_SIZE) - 1)
    well_posed = np.abs(ref_grid - ref_argmax).max(-1) < 5
    assert (visible > 0).sum() < well_posed.sum() <= err.size
    assert err[well_posed].max() < 0.05
    np.testing.assert_allclose(kpts[:, 0][~well_posed], ref_kpts[:, 0][~well_posed], rtol=0.01)
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-6)
    # the DARK step moved keypoints off the integer heatmap grid (the refinement really ran)
    grid = ref_kpts / np.array(INPUT_SIZE) * (np.array(HEATMAP_SIZE) - 1)
    assert np.abs(grid - np.round(grid)).max() > 0.1


def test_batch_decode_edge_cases_match_mmpose():
    """Peaks on the border and in corners, a map with no positive response (-1), an all-constant map (ties),
    and peaks above the clip value 50."""
    rng = np.random.default_rng(1)
    W, H = 24, 20
    codec = BatchedUDPHeatmap(input_size=(96, 80), heatmap_size=(W, H), sigma=2)
    ref = UDPHeatmap(input_size=(96, 80), heatmap_size=(W, H), sigma=2)
    kpts = np.array([[[0, 0], [W - 1, H - 1], [0, H / 2], [W / 2, 0], [7.3, 9.6], [11.2, 4.4]]], np.float32)
    hm = ref.encode(kpts * 4, np.ones((1, 6), np.float32))['heatmaps']
    hm = hm + rng.normal(0, 0.005, hm.shape).astype(np.float32)
    hm[4] = -np.abs(hm[4])  # no positive response -> keypoint -1
    hm[5] *= 80.0  # above the clip value
    hm = np.concatenate([hm, np.full((1, H, W), 0.3, np.float32)])  # constant map: first maximum wins
    ref_kpts, ref_scores = ref.decode(hm.copy())
    kpts, scores = codec.batch_decode(hm[None])
    np.testing.assert_allclose(kpts[0], ref_kpts, atol=0.05)
    np.testing.assert_allclose(scores[0], ref_scores, atol=1e-6)


def test_decode_tensor_keeps_device_and_dtype_and_checks_shape():
    codec = BatchedUDPHeatmap(input_size=(96, 80), heatmap_size=(24, 20), sigma=2)
    hm = torch.zeros(2, 3, 20, 24, dtype=torch.bfloat16)
    hm[:, :, 5, 7] = 1
    kpts, scores = codec.decode_tensor(hm)
    assert kpts.device == hm.device and kpts.dtype == torch.float32 and kpts.shape == (2, 3, 2)
    # a lone peak is symmetric: the DARK step is zero and the keypoint is the peak scaled by (96-1)/(24-1) etc.
    torch.testing.assert_close(kpts[0, 0], torch.tensor([7 * 96 / 23, 5 * 80 / 19]), atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match='heatmap_size'):
        codec.decode_tensor(torch.zeros(1, 3, 24, 20))
    with pytest.raises(ValueError, match='gaussian'):
        BatchedUDPHeatmap(input_size=(96, 80), heatmap_size=(24, 20), heatmap_type='combined')
