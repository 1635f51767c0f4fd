"""Video round trip of the pose demo on a synthetic clip (a window sliding over a bundled photo, jittered boxes as
from a noisy detector): stable track ids, One-Euro smoothing reduces keypoint jitter, an mp4 overlay and one JSON;
the same clip as a folder of frames (--sequence); the dense demo on the video."""
import json
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.dirname(__file__))
from conftest import REPO_ROOT  # noqa: E402
from wild_helpers import TINY_CONFIGS, wild_weights, write_moving_clip  # noqa: E402,F401

FRAMES = 8


def run_tool(name, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [name] + [str(a) for a in argv])
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo', name), run_name='__main__')


@pytest.fixture(scope='module')
def clip(tmp_path_factory, wild_weights):
    folder = tmp_path_factory.mktemp('clip')
    video, frame_dir, boxes, truth = write_moving_clip(folder, frames=FRAMES)
    return dict(video=video, frames=frame_dir, boxes=boxes, truth=truth, ckpts=wild_weights, folder=folder)


def jitter(doc):
    """Mean |second difference| of every tracked keypoint over time (pixels)."""
    tracks = {}
    for fr in doc['frames']:
        for p in fr['people']:
            tracks.setdefault(p['track_id'], []).append(np.array(p['keypoints']))
    return np.mean([np.abs(np.diff(np.stack(v), 2, axis=0)).mean() for v in tracks.values() if len(v) > 2])


def test_pose_video_stable_ids_and_smoothing(clip, tmp_path, monkeypatch):
    common = [TINY_CONFIGS['pose'], clip['ckpts']['pose'], '--input', clip['video'], '--bboxes', clip['boxes'],
              '--no-flip-test', '--batch-size', 4, '--format', 'coco17']
    run_tool('pose_demo.py', common + ['--output', tmp_path / 'raw'], monkeypatch)
    run_tool('pose_demo.py', common + ['--output', tmp_path / 'smooth', '--smooth', '--smooth-min-cutoff', 0.5],
             monkeypatch)
    raw = json.loads((tmp_path / 'raw' / 'clip.json').read_text())
    smooth = json.loads((tmp_path / 'smooth' / 'clip.json').read_text())
    assert raw['num_frames'] == FRAMES and len(raw['frames']) == FRAMES and raw['fps'] == pytest.approx(10)
    assert raw['format'] == 'coco17' and len(raw['keypoint_names']) == 17 and raw['keypoint_names'][0] == 'nose'
    # ids: each true person keeps one id through the clip, and different people have different ids
    truth = clip['truth']
    ids_per_person = [set() for _ in range(truth.shape[1])]
    for t, fr in enumerate(raw['frames']):
        assert len(fr['people']) == truth.shape[1] and not fr['whole_image']
        for p in fr['people']:
            assert len(p['keypoints']) == 17 and len(p['keypoint_scores']) == 17
            person = int(np.argmin(np.abs(truth[t] - np.array(p['bbox'])).sum(1)))
            ids_per_person[person].add(p['track_id'])
    assert all(len(s) == 1 for s in ids_per_person)
    assert len(set.union(*ids_per_person)) == truth.shape[1]
    # smoothing: same ids, less jitter, and the first frame is untouched
    assert [[p['track_id'] for p in f['people']] for f in smooth['frames']] == \
        [[p['track_id'] for p in f['people']] for f in raw['frames']]
    assert jitter(smooth) < 0.7 * jitter(raw)
    assert smooth['frames'][0]['people'][0]['keypoints'] == raw['frames'][0]['people'][0]['keypoints']
    cap = cv2.VideoCapture(str(tmp_path / 'smooth' / 'clip.mp4'))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == FRAMES


def frames_in(path):
    cap = cv2.VideoCapture(str(path))
    n, shape = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            return n, shape
        n, shape = n + 1, frame.shape


def test_frame_folder_human_pass_and_dense_video(clip, tmp_path, monkeypatch):
    argv = ['--tasks', 'pose,normal', '--pose-config', TINY_CONFIGS['pose'], '--pose-checkpoint',
            clip['ckpts']['pose'], '--normal-config', TINY_CONFIGS['normal'], '--normal-checkpoint',
            clip['ckpts']['normal'], '--input', clip['frames'], '--sequence', '--fps', 5, '--bboxes', clip['boxes'],
            '--no-flip-test', '--smooth', '--panel-height', 100, '--output', tmp_path / 'seq']
    run_tool('human_pass.py', argv, monkeypatch)
    doc = json.loads((tmp_path / 'seq' / 'pose' / 'frames.json').read_text())
    assert doc['frames_folder'] == clip['frames'] and doc['fps'] == 5 and len(doc['frames']) == FRAMES
    assert len(doc['keypoint_names']) == 308 and doc['smoothing'] and doc['tracking']
    assert {p['track_id'] for f in doc['frames'] for p in f['people']} == set(range(1, clip['truth'].shape[1] + 1))
    assert frames_in(tmp_path / 'seq' / 'pose' / 'frames.mp4') == (FRAMES, (400, 600, 3))
    assert frames_in(tmp_path / 'seq' / 'normal' / 'frames.mp4')[0] == FRAMES
    n, shape = frames_in(tmp_path / 'seq' / 'panel' / 'frames.mp4')  # input | normals | skeleton
    assert n == FRAMES and shape[0] == 100 and abs(shape[1] - 3 * 150) <= 2
    run_tool('dense_demo.py', [TINY_CONFIGS['normal'], clip['ckpts']['normal'], '--input', clip['video'],
                               '--bboxes', clip['boxes'], '--output', tmp_path / 'dense', '--batch-size', 4],
             monkeypatch)
    boxes = json.loads((tmp_path / 'dense' / 'clip.json').read_text())
    assert len(boxes['frames']) == FRAMES and boxes['keypoint_names'] is None
    assert all('track_id' in p and 'keypoints' not in p for f in boxes['frames'] for p in f['people'])
    cap = cv2.VideoCapture(str(tmp_path / 'dense' / 'clip_normal.mp4'))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (400, 600)
    assert cv2.imread(str(tmp_path / 'dense' / 'clip_000007.png')).shape == (400, 600, 3)
