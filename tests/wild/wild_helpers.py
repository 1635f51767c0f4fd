"""Shared pieces of the in-the-wild tests: tiny random task models saved to files, a Faster R-CNN v2 with
person-biased random weights saved to a local file, and a synthetic clip of moving crops of a bundled image."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT

TINY_CONFIGS = dict(pose=osp.join(REPO_ROOT, 'configs/pose/sapiens2_tiny_308kpt_coco_wholebody_sample.py'),
                    seg=osp.join(REPO_ROOT, 'configs/seg/sapiens2_tiny_seg29_synthetic.py'),
                    normal=osp.join(REPO_ROOT, 'configs/geometry/sapiens2_tiny_normal_synthetic.py'),
                    pointmap=osp.join(REPO_ROOT, 'configs/geometry/sapiens2_tiny_pointmap_synthetic.py'),
                    albedo=osp.join(REPO_ROOT, 'configs/geometry/sapiens2_tiny_albedo_synthetic.py'))
DET_INPUT = 160  # the detector's shorter side in the tests (speed)


def save_tiny_checkpoints(folder, tasks=('pose', 'seg', 'normal', 'pointmap')):
    """Random tiny models of ``tasks`` -> {task: .safetensors path}."""
    from sapiens2.apis import init_dense_model, init_pose_model
    from sapiens2.utils.checkpoint import save_safetensors
    paths = {}
    for task in tasks:
        torch.manual_seed(0)
        model = (init_pose_model if task == 'pose' else init_dense_model)(TINY_CONFIGS[task])
        paths[task] = osp.join(str(folder), f'{task}.safetensors')
        save_safetensors(model.state_dict(), paths[task])
    return paths


def save_person_detector(path, seed=0):
    """torchvision Faster R-CNN v2 (the real architecture), random weights, except that the box classifier says
    'person' and the box regressor keeps the proposals: it finds 'people' at random places. Saved as a state dict."""
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
    torch.manual_seed(seed)
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=91)
    pred = model.roi_heads.box_predictor
    with torch.no_grad():
        pred.cls_score.weight.zero_()
        pred.cls_score.bias.zero_()
        pred.cls_score.bias[1] = 10.0
        pred.bbox_pred.weight.zero_()
        pred.bbox_pred.bias.zero_()
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope='session')
def wild_weights(tmp_path_factory):
    """Shared by the tests/wild modules (import it): {task: tiny random checkpoint, 'det': Faster R-CNN v2 file}."""
    folder = tmp_path_factory.mktemp('wild_weights')
    paths = save_tiny_checkpoints(folder, ('pose', 'seg', 'normal', 'pointmap'))
    paths['det'] = save_person_detector(str(folder / 'fasterrcnn_v2.pth'))
    return paths


def gt_boxes(name='000000000785.jpg'):
    """GT person boxes (x1, y1, x2, y2) of a bundled image."""
    with open(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')) as f:
        coco = json.load(f)
    img_id = next(i['id'] for i in coco['images'] if i['file_name'] == name)
    return np.array([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                     for a in coco['annotations'] if a['image_id'] == img_id and a['bbox'][2] > 30], np.float32)


def write_moving_clip(folder, name='000000196141.jpg', frames=12, size=(400, 600), step=(4, 2), jitter=2.0, seed=0):
    """A synthetic video: a ``size`` (h, w) window sliding ``step`` (dx, dy) pixels per frame over a bundled image,
    written as ``clip.mp4`` and as frames ``frames/<i>.png``; plus ``boxes.json`` with the GT person boxes in each
    frame's coordinates, jittered by ``jitter`` pixels (a noisy detector), keyed by frame name ``clip_<i:06d>`` and
    ``<i>.png``. Returns (video path, frames folder, boxes path, true boxes [T, N, 4])."""
    img = cv2.imread(osp.join(COCO_WHOLEBODY_SAMPLE, name))
    h, w = size
    boxes = gt_boxes(name)
    rng = np.random.default_rng(seed)
    video = osp.join(str(folder), 'clip.mp4')
    frame_dir = osp.join(str(folder), 'frames')
    import os
    os.makedirs(frame_dir, exist_ok=True)
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10.0, (w, h))
    table, truth = {}, []
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    for t in range(frames):
        x0, y0 = t * step[0], t * step[1]
        b = boxes - np.array([x0, y0, x0, y0], np.float32)
        b[:, 0::2] = b[:, 0::2].clip(0, w - 1)
        b[:, 1::2] = b[:, 1::2].clip(0, h - 1)
        truth.append(b)
    inside = (np.stack([area(b) for b in truth]) >= 0.8 * area(boxes)).all(0)  # people in view all along
    truth = [b[inside] for b in truth]
    for t in range(frames):
        x0, y0 = t * step[0], t * step[1]
        crop = img[y0:y0 + h, x0:x0 + w]
        writer.write(crop)
        cv2.imwrite(osp.join(frame_dir, f'{t:04d}.png'), crop)
        b = truth[t]
        noisy = (b + rng.normal(0, jitter, b.shape)).tolist()
        table[f'clip_{t:06d}'] = table[f'{t:04d}.png'] = noisy
    writer.release()
    path = osp.join(str(folder), 'boxes.json')
    with open(path, 'w') as f:
        json.dump(table, f)
    return video, frame_dir, path, np.stack(truth)
