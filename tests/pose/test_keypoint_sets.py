"""Keypoint sets other than the 308 layout: the COCO-17 / COCO-WholeBody-133 configs follow mmpose's metainfo (head
channels, flip indices, OKS sigmas), the tiny 133-keypoint config trains and evaluates with mmpose's
CocoWholeBodyMetric, and the custom-set recipe of the README (a metainfo file + a short config) works."""
import json
import os.path as osp

import mmpose
import numpy as np
import pytest
from mmengine import Config

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT

POSE_CONFIGS = osp.join(REPO_ROOT, 'configs', 'pose')
MMPOSE_METAINFO = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets')
TINY133 = osp.join(POSE_CONFIGS, 'sapiens2_tiny_coco_wholebody133_sample.py')
TINY308 = osp.join(POSE_CONFIGS, 'sapiens2_tiny_308kpt_coco_wholebody_sample.py')
# config -> (mmpose metainfo file, metric type, the 308 config it applies the keypoint set to)
SET_CONFIGS = {
    'sapiens2_1b_coco17.py': ('coco.py', 'mmpose.CocoMetric', 'sapiens2_1b_308kpt.py'),
    'sapiens2_1b_coco_wholebody133.py': ('coco_wholebody.py', 'mmpose.CocoWholeBodyMetric', 'sapiens2_1b_308kpt.py'),
    'sapiens2_tiny_coco_wholebody133_sample.py': ('coco_wholebody.py', 'mmpose.CocoWholeBodyMetric', TINY308),
}
# COCO-17 by hand (COCO keypoint task: the left/right swaps and the published per-keypoint OKS sigmas)
COCO17_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO17_SIGMAS = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089]


def mmpose_metainfo(name: str) -> dict:
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    return parse_pose_metainfo(dict(from_file=osp.join(MMPOSE_METAINFO, name)))


def short_schedule(cfg, work_dir, iters):
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=4),
                           dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=4, end=iters)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)  # no checkpoint
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1, log_metric_by_epoch=False)
    return cfg


@pytest.mark.parametrize('name', sorted(SET_CONFIGS))
def test_set_configs_follow_mmpose_metainfo(name):
    from sapiens2.registry import DATASETS
    metainfo_file, metric, base = SET_CONFIGS[name]
    ref = mmpose_metainfo(metainfo_file)
    cfg = Config.fromfile(osp.join(POSE_CONFIGS, name))
    assert cfg.model.decode_head.out_channels == ref['num_keypoints']
    assert cfg.val_evaluator.type == cfg.test_evaluator.type == metric
    assert set(cfg.val_evaluator) == {'type', 'score_mode', 'nms_mode'}  # the 308 metric's keys are gone
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        meta = DATASETS.build(dict(loader.dataset, lazy_init=True)).metainfo
        assert meta['num_keypoints'] == ref['num_keypoints']
        assert meta['flip_indices'] == ref['flip_indices']
        np.testing.assert_array_equal(meta['sigmas'], ref['sigmas'])
    # the rest is the 308 recipe of the same size
    base = Config.fromfile(osp.join(POSE_CONFIGS, base))
    assert cfg.model.backbone == base.model.backbone
    assert {k: v for k, v in cfg.model.decode_head.items() if k != 'out_channels'} == \
        {k: v for k, v in base.model.decode_head.items() if k != 'out_channels'}
    assert cfg.train_dataloader.dataset.pipeline == base.train_dataloader.dataset.pipeline
    assert cfg.optim_wrapper == base.optim_wrapper and cfg.train_cfg == base.train_cfg


def test_coco17_metainfo_by_hand():
    ref = mmpose_metainfo('coco.py')
    assert ref['flip_indices'] == COCO17_FLIP
    np.testing.assert_allclose(ref['sigmas'], COCO17_SIGMAS)
    cfg = Config.fromfile(osp.join(POSE_CONFIGS, 'sapiens2_1b_coco17.py'))
    assert cfg.model.decode_head.out_channels == 17


@pytest.fixture(scope='module')
def trained133(tmp_path_factory):
    from mmengine.runner import Runner
    cfg = short_schedule(Config.fromfile(TINY133), tmp_path_factory.mktemp('pose133'), iters=24)
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = COCO_WHOLEBODY_SAMPLE + '/'
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = np.asarray(runner.message_hub.get_scalar('train/loss').data[0])
    return runner, losses, runner.test()


def test_tiny133_trains(trained133):
    runner, losses, _ = trained133
    assert runner.model.decode_head.conv_pose.out_channels == 133
    assert np.isfinite(losses).all() and len(losses) == 24
    assert losses[-4:].mean() < 0.6 * losses[:4].mean()


def test_tiny133_evaluates_with_coco_wholebody_metric(trained133):
    _, _, metrics = trained133
    keys = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)')
    assert set(metrics) == {f'coco-wholebody/{k}' for k in keys}
    for value in metrics.values():
        assert np.isfinite(value) and (0.0 <= value <= 1.0 or value == -1.0)
    assert 0.0 <= metrics['coco-wholebody/AP'] <= 1.0


def test_tiny133_evaluator_scores_ground_truth_as_perfect():
    """The config's dataset + evaluator wiring (GT file found through the dataset, 133 sigmas): the ground truth as
    the prediction scores AP 1; the ground truth shifted by 8 px scores less."""
    from mmengine.evaluator import Evaluator
    from mmpose.structures import PoseDataSample
    from mmengine.structures import InstanceData

    from sapiens2.registry import DATASETS
    cfg = Config.fromfile(TINY133)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=COCO_WHOLEBODY_SAMPLE + '/', pipeline=[]))

    def score(shift):
        evaluator = Evaluator(cfg.test_evaluator)
        evaluator.dataset_meta = dataset.metainfo
        samples = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            ds = PoseDataSample(metainfo=dict(id=info['id'], img_id=info['img_id']))
            ds.gt_instances = InstanceData(bbox_scores=info['bbox_score'])
            ds.pred_instances = InstanceData(keypoints=info['keypoints'] + shift,
                                             keypoint_scores=np.ones(info['keypoints'].shape[:2], np.float32),
                                             bboxes=info['bbox'], bbox_scores=info['bbox_score'])
            samples.append(ds)
        evaluator.process(samples)
        return evaluator.evaluate(len(samples))['coco-wholebody/AP']

    assert score(0.0) == pytest.approx(1.0)
    assert score(8.0) < 0.9


HEAD5_METAINFO = """dataset_info = dict(
    dataset_name='head5',
    keypoint_info={
        0: dict(name='nose', id=0, color=[51, 153, 255], type='upper', swap=''),
        1: dict(name='left_eye', id=1, color=[0, 255, 0], type='upper', swap='right_eye'),
        2: dict(name='right_eye', id=2, color=[255, 128, 0], type='upper', swap='left_eye'),
        3: dict(name='left_ear', id=3, color=[0, 255, 0], type='upper', swap='right_ear'),
        4: dict(name='right_ear', id=4, color=[255, 128, 0], type='upper', swap='left_ear'),
    },
    skeleton_info={
        0: dict(link=('nose', 'left_eye'), id=0, color=[0, 255, 0]),
        1: dict(link=('nose', 'right_eye'), id=1, color=[255, 128, 0]),
        2: dict(link=('left_eye', 'left_ear'), id=2, color=[0, 255, 0]),
        3: dict(link=('right_eye', 'right_ear'), id=3, color=[255, 128, 0]),
    },
    joint_weights=[1.0] * 5,
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035])
"""
# the README recipe: a metainfo file + this config (paths filled in by the test)
HEAD5_CONFIG = """_base_ = ['{base}']
head5 = dict(type='mmpose.CocoDataset', metainfo=dict(from_file='{metainfo}'), data_root='{root}/',
             ann_file='head5.json', data_prefix=dict(img='{images}/'))
model = dict(decode_head=dict(out_channels=5))
train_dataloader = dict(dataset=head5)
val_dataloader = test_dataloader = dict(dataset=head5)
val_evaluator = test_evaluator = dict(type='mmpose.CocoMetric', score_mode='bbox', nms_mode='none', _delete_=True)
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
"""


def test_custom_keypoint_set_recipe(tmp_path):
    """A 5-keypoint head set (nose, eyes, ears: the first 5 COCO keypoints) written to tmp: metainfo file, COCO-format
    annotations with 3·5 values per person, the recipe config on the tiny 308 config; trains, tests, and the metric
    gets 5 keypoints per prediction, one per person box."""
    from mmengine.runner import Runner
    with open(osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')) as f:
        coco = json.load(f)
    anns = []
    for ann in coco['annotations']:
        kpts = np.asarray(ann['keypoints'], np.float32).reshape(17, 3)[:5]
        anns.append(dict({k: ann[k] for k in ('id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd',
                                             'segmentation')}, keypoints=kpts.flatten().tolist(),
                         num_keypoints=int((kpts[:, 2] > 0).sum())))
    coco = dict(images=coco['images'], categories=[dict(id=1, name='person')], annotations=anns)
    (tmp_path / 'head5.json').write_text(json.dumps(coco))
    (tmp_path / 'head5_metainfo.py').write_text(HEAD5_METAINFO)
    config = tmp_path / 'sapiens2_tiny_head5.py'
    config.write_text(HEAD5_CONFIG.format(
        base=TINY308,
        metainfo=tmp_path / 'head5_metainfo.py', root=tmp_path,
        images=osp.relpath(COCO_WHOLEBODY_SAMPLE, tmp_path)))
    cfg = short_schedule(Config.fromfile(str(config)), tmp_path / 'work', iters=8)
    cfg.test_evaluator.outfile_prefix = str(tmp_path / 'pred')
    runner = Runner.from_cfg(cfg)
    assert runner.train_dataloader.dataset.metainfo['flip_indices'] == [0, 2, 1, 4, 3]
    runner.train()
    metrics = runner.test()
    assert 0.0 <= metrics['coco/AP'] <= 1.0 and 0.0 <= metrics['coco/AR'] <= 1.0
    preds = json.loads((tmp_path / 'pred.keypoints.json').read_text())
    with_keypoints = [a for a in anns if a['num_keypoints'] > 0]
    assert len(preds) == len(with_keypoints)
    assert all(len(p['keypoints']) == 15 for p in preds)
