"""308 -> COCO-17 / COCO-WholeBody-133 / OpenPose-18 converters on the real sample, and the skeleton overlay."""
import json
import os.path as osp

import numpy as np
import pytest

from conftest import COCO_WHOLEBODY_SAMPLE, METAINFO


def _sample_308():
    with open(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')) as f:
        anns = json.load(f)['annotations']
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        mapping = {int(k): v for k, v in json.load(f)['coco_wholebody133_to_keypoints308'].items()}
    k133 = np.stack([np.array(a['keypoints'] + a['foot_kpts'] + a['face_kpts'] + a['lefthand_kpts']
                              + a['righthand_kpts'], np.float32).reshape(133, 3) for a in anns])
    k308 = np.zeros((len(anns), 308, 3), np.float32)
    for s, d in mapping.items():
        k308[:, d] = k133[:, s]
    return k133, k308, mapping


def test_convert_to_coco17_and_wholebody133():
    from sapiens2.utils.keypoint_converters import convert_keypoints308
    k133, k308, mapping = _sample_308()
    scores = k308[..., 2] + 0.5
    kp17, s17 = convert_keypoints308(k308[..., :2], scores, 'coco17')
    assert kp17.shape == (len(k133), 17, 2)
    np.testing.assert_array_equal(kp17, k133[:, :17, :2])
    np.testing.assert_array_equal(s17, k133[:, :17, 2] + 0.5)
    kp133, s133 = convert_keypoints308(k308[..., :2], scores, 'coco_wholebody133')
    shared = sorted(mapping)
    np.testing.assert_array_equal(kp133[:, shared], k133[:, shared, :2])
    others = sorted(set(range(133)) - set(shared))
    assert not kp133[:, others].any() and not s133[:, others].any()


def test_convert_to_openpose18():
    from sapiens2.utils.keypoint_converters import convert_keypoints308
    k133, k308, _ = _sample_308()
    scores = np.random.default_rng(0).uniform(0, 1, k308.shape[:2]).astype(np.float32)
    kp, sc = convert_keypoints308(k308[..., :2], scores, 'openpose18')
    coco = k133[:, :17, :2]
    assert kp.shape == (len(k133), 18, 2)
    np.testing.assert_array_equal(kp[:, 0], coco[:, 0])  # nose
    np.testing.assert_allclose(kp[:, 1], 0.5 * (coco[:, 5] + coco[:, 6]))  # neck
    np.testing.assert_array_equal(kp[:, 2], coco[:, 6])  # right shoulder
    np.testing.assert_array_equal(kp[:, 7], coco[:, 9])  # left wrist
    np.testing.assert_array_equal(kp[:, 14], coco[:, 2])  # right eye
    np.testing.assert_array_equal(kp[:, 17], coco[:, 3])  # left ear
    with pytest.raises(ValueError, match='layout'):
        convert_keypoints308(k308[..., :2], scores, 'h36m')
    with pytest.raises(ValueError, match='308'):
        convert_keypoints308(k308[:, :17, :2], scores[:, :17], 'coco17')


def test_draw_pose_marks_keypoints_and_links():
    from sapiens2.visualization.pose_visualization import draw_pose
    img = np.zeros((60, 80, 3), np.uint8)
    kpts = np.array([[[10, 10], [50, 40], [70, 5]]], np.float32)
    scores = np.array([[0.9, 0.8, 0.1]], np.float32)
    out = draw_pose(img, kpts, scores, [(0, 1), (1, 2)], link_colors=[(0, 255, 0), (0, 0, 255)],
                    keypoint_colors=[(255, 0, 0)] * 3, kpt_thr=0.3, radius=2, thickness=1)
    assert not img.any()  # input untouched
    assert tuple(out[10, 10]) == (0, 0, 255)  # RGB red keypoint -> BGR
    mid = out[25, 30]  # midpoint of the drawn link 0-1 (anti-aliased): green
    assert mid[1] > 200 and mid[0] == 0 and mid[2] == 0
    assert not out[5, 70].any() and not out[22, 60].any()  # low-score keypoint and its link are skipped
