"""Person detection without mmcv/mmdet: post-processing (score threshold, minimum size, NMS, clipping), the
whole-image fallback, the real torchvision Faster R-CNN v2 architecture loaded from a local file, and its boxes
flowing into pose."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
from conftest import COCO_WHOLEBODY_SAMPLE  # noqa: E402
from wild_helpers import DET_INPUT, TINY_CONFIGS, wild_weights  # noqa: E402,F401

from sapiens2.apis.detection import (FileBoxes, PersonDetector, TorchvisionPersonDetector,  # noqa: E402
                                     boxes_or_whole_image, build_detector, detect, postprocess_person_boxes,
                                     register_detector)


def test_postprocess_threshold_size_nms_and_clipping():
    boxes = np.array([[10, 10, 110, 210],     # person, 0.9
                      [12, 12, 112, 212],     # duplicate of the first, 0.8 -> NMS
                      [300, 20, 380, 200],    # person, 0.6
                      [400, 20, 405, 200],    # 5 px wide -> too small
                      [200, 50, 280, 250],    # score 0.3 -> below threshold
                      [-20, 5, 60, 900],      # clipped to the image
                      [500, 10, 600, 200]], np.float32)  # a car (label 3)
    scores = np.array([0.9, 0.8, 0.6, 0.95, 0.3, 0.7, 0.99], np.float32)
    labels = np.array([1, 1, 1, 1, 1, 1, 3])
    out, sc = postprocess_person_boxes(boxes, scores, labels, img_shape=(480, 640), score_thr=0.5, nms_thr=0.5,
                                       min_size=16)
    np.testing.assert_allclose(sc, [0.9, 0.7, 0.6])  # sorted by score
    np.testing.assert_allclose(out, [[10, 10, 110, 210], [0, 5, 60, 479], [300, 20, 380, 200]])
    # a looser NMS keeps the duplicate, a higher threshold drops the 0.6 box
    assert len(postprocess_person_boxes(boxes, scores, labels, (480, 640), 0.5, 0.95, 16)[0]) == 4
    assert len(postprocess_person_boxes(boxes, scores, labels, (480, 640), 0.65, 0.5, 16)[0]) == 2


class _Fixed(PersonDetector):
    def __init__(self, boxes, scores, **kw):
        super().__init__(**kw)
        self.boxes, self.scores = boxes, scores

    def raw(self, img):
        return self.boxes, self.scores


def test_whole_image_fallback_and_plugin_registry():
    img = np.zeros((120, 90, 3), np.uint8)
    nobody = _Fixed(np.array([[10, 10, 50, 80]], np.float32), np.array([0.2], np.float32), score_thr=0.5)(img)
    assert nobody.fallback and nobody.bboxes.tolist() == [[0, 0, 89, 119]]
    found = _Fixed(np.array([[10, 10, 50, 80]], np.float32), np.array([0.9], np.float32))(img)
    assert not found.fallback and found.bboxes.tolist() == [[10, 10, 50, 80]]
    assert detect(None, img).fallback  # --det none
    register_detector('fixed_test', lambda **kw: _Fixed(np.array([[1, 2, 60, 70]], np.float32), np.ones(1)))
    assert build_detector('fixed_test')(img).bboxes.tolist() == [[1, 2, 60, 70]]
    assert build_detector('none') is None
    with pytest.raises(ValueError, match='not a torchvision detector'):
        build_detector('no_such_detector')


def test_file_boxes(tmp_path):
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps({'a.jpg': [[1, 2, 30, 40, 0.7], [5, 5, 50, 60]]}))
    boxes = FileBoxes(str(path))
    img = np.zeros((100, 80, 3), np.uint8)
    d = boxes(img, 'dir/a.jpg')
    assert d.bboxes.tolist() == [[1, 2, 30, 40], [5, 5, 50, 60]] and d.scores.tolist() == pytest.approx([0.7, 1])
    assert boxes(img, 'b.jpg').fallback
    coco = FileBoxes(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json'))
    assert len(coco(img, '000000000785.jpg')) == 1


def test_faster_rcnn_v2_from_local_file_into_pose(wild_weights, tmp_path):
    from sapiens2.apis import inference_pose, init_pose_model
    torch.manual_seed(0)
    det = TorchvisionPersonDetector('fasterrcnn_v2', checkpoint=wild_weights['det'], score_thr=0.5, nms_thr=0.3,
                                    input_size=DET_INPUT, proposals=50)
    assert type(det.model).__name__ == 'FasterRCNN' and det.name == 'fasterrcnn_resnet50_fpn_v2'
    img = cv2.imread(osp.join(COCO_WHOLEBODY_SAMPLE, '000000000785.jpg'))
    raw_boxes, raw_scores = det.raw(img)
    boxes, scores = postprocess_person_boxes(raw_boxes, raw_scores, None, img.shape[:2], 0.5, 0.3, 16.0)
    found = boxes_or_whole_image(boxes, scores, *img.shape[:2])  # what det(img) returns, without a second forward
    assert len(raw_boxes) > len(found) > 0 and not found.fallback
    assert (found.scores >= 0.5).all()
    from torchvision.ops import box_iou
    iou = box_iou(torch.as_tensor(found.bboxes), torch.as_tensor(found.bboxes)).fill_diagonal_(0)
    assert iou.max() <= 0.3 + 1e-6  # NMS
    h, w = img.shape[:2]
    assert (found.bboxes[:, [0, 2]] <= w - 1).all() and (found.bboxes[:, [1, 3]] <= h - 1).all()
    assert ((found.bboxes[:, 2:] - found.bboxes[:, :2]) >= 16).all()
    # boxes flow into pose: one person per box, keypoints in image pixels around their box
    pose = init_pose_model(TINY_CONFIGS['pose'], wild_weights['pose'], flip_test=False)
    res = inference_pose(pose, img, found.bboxes[:3])
    assert res['keypoints'].shape == (min(3, len(found)), 308, 2)
    np.testing.assert_allclose(res['bboxes'], found.bboxes[:3], atol=1e-3)


def test_offline_file_builds_torchvisions_released_structure(tmp_path):
    """A file loads into the model torchvision builds for its own COCO weights (frozen batch norms), strictly."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
    from torchvision.ops.misc import FrozenBatchNorm2d
    torch.manual_seed(1)
    src = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91)
    path = tmp_path / 'mobilenet.pth'
    torch.save({'state_dict': src.state_dict()}, path)  # wrapped, with BatchNorm counters
    det = TorchvisionPersonDetector('fasterrcnn_mobilenet', checkpoint=str(path))
    assert any(isinstance(m, FrozenBatchNorm2d) for m in det.model.modules())
    for k, v in det.model.state_dict().items():
        torch.testing.assert_close(v, src.state_dict()[k], msg=k)
    # a file that is not this architecture is refused, naming the file
    bad = tmp_path / 'bad.pth'
    torch.save({'backbone.body.conv1.weight': torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match='bad.pth does not fit fasterrcnn_mobilenet_v3_large_fpn'):
        TorchvisionPersonDetector('fasterrcnn_mobilenet', checkpoint=str(bad))
