"""Top-down pose evaluation on detected boxes (mmpose's ``bbox_file`` + ``bbox_score_thr``, CocoMetric's
``bbox_keypoint`` rescoring and OKS NMS) through ``tools/test.py --bbox-file``, for mmpose's COCO-WholeBody (133) and
our 308-keypoint dataset + ``PosePartitionMetric``, on a detection file written for the bundled sample."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
from mmengine import Config

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT

CONFIGS = {
    133: osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_tiny_coco_wholebody133_sample.py'),
    308: osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_tiny_308kpt_coco_wholebody_sample.py'),
}
AP_KEY = {133: 'coco-wholebody/AP', 308: 'all/coco/AP'}
AR_KEY = {133: 'coco-wholebody/AR', 308: 'all/coco/AR'}
THR = 0.3
DROPPED_PERSON = (197388, [287, 62, 75, 166])  # a real person detected with score 0.2 < THR
FALSE_POSITIVES = [dict(image_id=785, category_id=1, bbox=[20.0, 20.0, 100.0, 150.0], score=0.5),  # kept
                   dict(image_id=40083, category_id=1, bbox=[420.0, 20.0, 60.0, 100.0], score=0.1)]  # dropped


def load_test_tool():
    spec = importlib.util.spec_from_file_location('sapiens2_test_tool', osp.join(REPO_ROOT, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def detections(tmp_path_factory):
    """COCO-format detections: the 12 people with keypoints at their GT boxes (score 0.9; one at 0.2), a kept and a
    dropped false positive, and other categories (ignored). Returns (path, number kept at THR)."""
    with open(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')) as f:
        anns = json.load(f)['annotations']
    dets = []
    for ann in anns:
        if ann['num_keypoints'] == 0:
            continue
        dropped = (ann['image_id'], [round(v) for v in ann['bbox']]) == DROPPED_PERSON
        dets.append(dict(image_id=ann['image_id'], category_id=1, bbox=ann['bbox'], score=0.2 if dropped else 0.9))
    assert len(dets) == 12 and sum(d['score'] < THR for d in dets) == 1
    dets += FALSE_POSITIVES + [dict(image_id=785, category_id=3, bbox=[0.0, 0.0, 50.0, 50.0], score=0.99)]
    path = tmp_path_factory.mktemp('dets') / 'detections.json'
    path.write_text(json.dumps(dets))
    return str(path), 11 + 1


def detected_cfg(num_keypoints, bbox_file):
    cfg = Config.fromfile(CONFIGS[num_keypoints])
    cfg.test_dataloader.dataset.data_root = COCO_WHOLEBODY_SAMPLE + '/'
    from sapiens2.evaluation.detected_boxes import use_detected_boxes
    return use_detected_boxes(cfg, bbox_file, THR)


@pytest.mark.parametrize('num_keypoints', [133, 308])
def test_config_switch(num_keypoints, detections):
    cfg = detected_cfg(num_keypoints, detections[0])
    assert cfg.test_dataloader.dataset.bbox_file == detections[0]
    assert cfg.test_dataloader.dataset.filter_cfg == dict(bbox_score_thr=THR)
    metric = cfg.test_evaluator if num_keypoints == 133 else cfg.test_evaluator.metric
    assert (metric.score_mode, metric.nms_mode, metric.nms_thr) == ('bbox_keypoint', 'oks_nms', 0.9)


@pytest.mark.parametrize('num_keypoints', [133, 308])
def test_perfect_poses_on_detections_score_the_dropped_person_as_missed(num_keypoints, detections):
    """The dataset + metric path without a model: each kept detection predicts the ground-truth pose of the person
    whose box it is (the false positive: its box centre). One of 12 people is below the threshold, so recall is
    11/12 at every OKS threshold and precision 1 up to it (the false positive scores lowest): AR = 11/12,
    AP = 92/101 (COCO's 101 recall points 0, 0.01, ..., 0.91 have precision 1, the rest 0)."""
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    from sapiens2.registry import DATASETS
    cfg = detected_cfg(num_keypoints, detections[0])
    gt_dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, bbox_file=None, filter_cfg=None, pipeline=[]))
    gt_poses = {(info['img_id'], tuple(np.round(info['bbox'][0, :2]))): info['keypoints'][0]
                for info in (gt_dataset.get_data_info(i) for i in range(len(gt_dataset)))}
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    assert len(dataset) == detections[1]  # detections below THR and of other categories are dropped
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        bbox = info['bbox'][0]
        centre = 0.5 * (bbox[:2] + bbox[2:])
        pose = gt_poses.get((info['img_id'], tuple(np.round(bbox[:2]))))
        assert (pose is None) == (info['bbox_score'][0] == 0.5)  # only the false positive has no person
        pose = np.where(pose > 0, pose, centre) if pose is not None else np.tile(centre, (num_keypoints, 1))
        ds = PoseDataSample(metainfo=dict(id=info['id'], img_id=info['img_id']))
        ds.gt_instances = InstanceData(bboxes=info['bbox'], bbox_scores=info['bbox_score'],  # + dummy keypoints
                                       keypoints=info['keypoints'], keypoints_visible=info['keypoints_visible'])
        ds.pred_instances = InstanceData(keypoints=pose[None].astype(np.float32), bboxes=info['bbox'],
                                         keypoint_scores=np.ones((1, num_keypoints), np.float32),
                                         bbox_scores=info['bbox_score'])
        samples.append(ds)
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    assert metrics[AR_KEY[num_keypoints]] == pytest.approx(11 / 12)
    assert metrics[AP_KEY[num_keypoints]] == pytest.approx(92 / 101)


def test_tools_test_bbox_file_with_a_tiny_model(detections, tmp_path):
    """tools/test.py --bbox-file end to end (in-process) with a random tiny 133-keypoint model: one prediction per
    kept detection, minus the duplicate OKS NMS removes; each pose scored box score x mean keypoint score above 0.2."""
    import torch

    from sapiens2.registry import MODELS
    bbox_file, kept = detections
    dets = json.loads(open(bbox_file).read())
    duplicate = dict(dets[0], score=0.8)  # a second detection of a person: the same crop, the same pose
    bbox_file = tmp_path / 'with_duplicate.json'
    bbox_file.write_text(json.dumps(dets + [duplicate]))
    cfg = Config.fromfile(CONFIGS[133])
    torch.manual_seed(0)
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)
    out = tmp_path / 'metrics.json'
    tool = load_test_tool()
    metrics = tool.main([CONFIGS[133], str(ckpt), '--work-dir', str(tmp_path / 'work'), '--out', str(out),
                         '--bbox-file', str(bbox_file), '--bbox-score-thr', str(THR), '--cfg-options',
                         f'test_dataloader.dataset.data_root={COCO_WHOLEBODY_SAMPLE}/',
                         f'test_evaluator.outfile_prefix={tmp_path}/pred'])
    assert 0.0 <= metrics['coco-wholebody/AP'] <= 1.0
    assert json.loads(out.read_text())['coco-wholebody/AP'] == pytest.approx(metrics['coco-wholebody/AP'])
    preds = json.loads((tmp_path / 'pred.keypoints.json').read_text())
    assert len(preds) == kept + 1 - 1  # the duplicate is suppressed
    by_score = {0.9: 0, 0.8: 0, 0.5: 0}
    for pred in preds:
        kpts = sum((pred[k] for k in ('keypoints', 'foot_kpts', 'face_kpts', 'lefthand_kpts', 'righthand_kpts')), [])
        kpt_scores = np.asarray(kpts, np.float64).reshape(133, 3)[:, 2]
        mean = kpt_scores[kpt_scores > 0.2].mean() if (kpt_scores > 0.2).any() else 0.0
        box_score = pred['score'] / mean
        matches = [s for s in by_score if abs(box_score - s) < 1e-4]
        assert len(matches) == 1, (pred['score'], mean)
        by_score[matches[0]] += 1
    assert by_score == {0.9: 11, 0.8: 0, 0.5: 1}  # NMS keeps the higher-scoring of the two
