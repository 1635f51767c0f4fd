"""PosePartitionMetric (mmpose CocoMetric per part, 308 sigmas) vs a direct xtcocotools COCOeval on the same
imperfect predictions of the real COCO-WholeBody sample."""
import json
import os.path as osp

import numpy as np
import pytest
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from conftest import COCO_WHOLEBODY_SAMPLE, METAINFO

PARTS = ['all', 'body', 'foot', 'left_hand', 'right_hand']


def _direct_eval(gt_anns, images, dets, ids, sigmas):
    """COCO keypoint AP / AR of the keypoints ``ids`` written from scratch (GT from the raw JSON + the 308 map)."""
    gt = COCO()
    anns = []
    for a in gt_anns:
        k = a['kpts308'][ids]
        anns.append(dict(id=a['id'], image_id=a['image_id'], category_id=1, bbox=a['bbox'], area=a['area'],
                         iscrowd=a['iscrowd'], keypoints=k.flatten().tolist(), num_keypoints=int((k[:, 2] > 0).sum())))
    gt.dataset = dict(images=images, annotations=anns, categories=[dict(id=1, name='person')])
    gt.createIndex()
    dt = gt.loadRes([dict(image_id=d['image_id'], category_id=1, score=d['score'],
                          keypoints=np.concatenate([d['kpts'][ids], d['scores'][ids, None]], 1).flatten().tolist())
                     for d in dets])
    ev = COCOeval(gt, dt, 'keypoints', np.array(sigmas)[ids], use_area=True)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats[0], ev.stats[5]


def test_partition_metric_matches_direct_cocoeval():
    from mmengine.registry import init_default_scope

    from sapiens2.datasets import CocoWholeBody308Dataset
    from sapiens2.registry import METRICS
    init_default_scope('sapiens2')
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        meta = json.load(f)
    mapping = {int(k): v for k, v in meta['coco_wholebody133_to_keypoints308'].items()}
    groups = meta['groups']
    partitions = dict(all=list(range(308)), **{p: groups[p] for p in PARTS[1:] + ['face']})
    ann_file = osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')
    with open(ann_file) as f:
        raw = json.load(f)
    images = [dict(id=i['id'], width=i['width'], height=i['height']) for i in raw['images']]
    shape = {i['id']: (i['height'], i['width']) for i in raw['images']}

    ds = CocoWholeBody308Dataset(ann_file=ann_file, data_root='', data_prefix=dict(img=COCO_WHOLEBODY_SAMPLE + '/'),
                                 pipeline=[], test_mode=True)
    metric = METRICS.build(dict(type='PosePartitionMetric',
                                metric=dict(type='CocoMetric', score_mode='bbox', nms_mode='none'),
                                partitions=partitions))
    metric.dataset_meta = ds.metainfo

    rng = np.random.default_rng(0)
    gt_anns, dets, samples = [], [], []
    by_id = {a['id']: a for a in raw['annotations']}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        a = by_id[info['id']]
        k133 = np.array(a['keypoints'] + a['foot_kpts'] + a['face_kpts'] + a['lefthand_kpts'] + a['righthand_kpts'],
                        dtype=np.float64).reshape(133, 3)
        k308 = np.zeros((308, 3))
        for s, d in mapping.items():
            k308[d] = k133[s]
        gt_anns.append(dict(a, kpts308=k308))
        # imperfect predictions: per-person noise level from exact to far off, random keypoint / box scores
        size = np.sqrt(a['area'])
        noise = [0.0, 0.02, 0.05, 0.1, 0.3][i % 5]
        kpts = k308[:, :2] + rng.normal(0, noise * size + 1e-3, (308, 2))
        kpts[k308[:, 2] == 0] = rng.uniform(0, 300, (int((k308[:, 2] == 0).sum()), 2))
        scores = rng.uniform(0.2, 1.0, 308)
        box_score = float(rng.uniform(0.3, 1.0))
        dets.append(dict(image_id=a['image_id'], kpts=kpts, scores=scores, score=box_score))
        samples.append(dict(
            id=info['id'], img_id=info['img_id'], category_id=1, ori_shape=shape[info['img_id']],
            raw_ann_info=info['raw_ann_info'],
            gt_instances=dict(keypoints=info['keypoints'], keypoints_visible=info['keypoints_visible'],
                              bbox_scores=np.ones(1), bbox_scales=np.array([[100.0, 100.0]])),
            pred_instances=dict(keypoints=kpts[None].astype(np.float32), keypoint_scores=scores[None],
                                bboxes=info['bbox'], bbox_scores=np.array([box_score]))))
    metric.process([], samples)
    results = metric.evaluate(len(samples))

    for part in PARTS:
        ap, ar = _direct_eval(gt_anns, images, dets, partitions[part], meta['sigmas'])
        assert results[f'{part}/coco/AP'] == pytest.approx(ap, abs=1e-6), part
        assert results[f'{part}/coco/AR'] == pytest.approx(ar, abs=1e-6), part
    # imperfect: not all perfect, not all zero
    assert 0.05 < results['body/coco/AP'] < 0.99
    # the sample has no 308-face keypoints (COCO-WholeBody's 68 face points are not in the 308 map): no GT -> -1
    assert results['face/coco/AP'] == -1


def test_partitions_by_name_read_the_metainfo_groups():
    """The configs name the parts; the ids come from the groups of keypoints308.json ('all': every keypoint)."""
    from sapiens2.evaluation.metrics.pose_partition_metric import PosePartitionMetric
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        groups = json.load(f)['groups']
    parts = PosePartitionMetric.partitions_from_metainfo(['all', 'face', 'left_hand'], 'keypoints308')
    assert parts == dict(all=list(range(308)), face=groups['face'], left_hand=groups['left_hand'])
    assert len(parts['face']) == 238 and len(set(parts['face']) & set(groups['body'])) == 0
    with pytest.raises(KeyError, match='torso'):
        PosePartitionMetric.partitions_from_metainfo(['torso'], 'keypoints308')
