"""The inference floor (sapiens2/apis/inference.py) reads the pose metadata from the config's test dataset, as mmpose's
``dataset_meta_from_config``: the 308-keypoint file for the bundled configs, mmpose's COCO-17 file for a model whose
test dataset is ``mmpose.CocoDataset`` (its flip indices then drive the flip test of the demos' crops)."""
import json
import os.path as osp

import numpy as np

from conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_tiny_308kpt_coco_wholebody_sample.py')
# COCO-17 left/right partners (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles), written out by hand
COCO17_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def test_bundled_pose_config_gives_the_308_metadata():
    from sapiens2.apis import init_pose_model
    model = init_pose_model(CONFIG)
    with open(osp.join(REPO_ROOT, 'sapiens2', 'metainfo', 'keypoints308.json')) as f:
        ref = json.load(f)
    assert model.dataset_meta['num_keypoints'] == 308
    assert list(model.dataset_meta['flip_indices']) == ref['flip_indices']


def test_coco17_test_dataset_gives_coco17_flip_indices_to_the_crops():
    from sapiens2.apis import inference_pose, init_pose_model, pose_crops
    model = init_pose_model(CONFIG, cfg_options={'test_dataloader.dataset.type': 'mmpose.CocoDataset',
                                                 'model.decode_head.out_channels': 17})
    meta = model.dataset_meta
    assert meta['num_keypoints'] == 17 and list(meta['flip_indices']) == COCO17_FLIP_INDICES
    assert meta['keypoint_id2name'][1] == 'left_eye' and len(meta['skeleton_links']) == 19
    img = np.random.default_rng(0).integers(0, 255, (160, 120, 3), dtype=np.uint8)
    crops = pose_crops(model, img, np.array([[10, 20, 100, 150]], np.float32))
    assert list(crops[0]['data_samples'].metainfo['flip_indices']) == COCO17_FLIP_INDICES
    assert model.test_cfg['flip_test']  # the flip test runs with the 17 partners
    res = inference_pose(model, img, np.array([[10, 20, 100, 150]], np.float32))
    assert res['keypoints'].shape == (1, 17, 2) and res['keypoint_scores'].shape == (1, 17)


def test_test_pipeline_drops_only_the_loading_steps():
    from mmengine.config import Config

    from sapiens2.apis import build_test_pipeline
    cfg = Config.fromfile(CONFIG)
    kept = [type(t).__name__ for t in build_test_pipeline(cfg).transforms]
    assert [t['type'] for t in cfg.test_pipeline][0] == 'LoadPoseImage'
    assert kept == ['GetBBoxCenterScale', 'AutoInterpTopdownAffine', 'PackPoseInputs']


def test_demo_format_choices_are_the_library_formats():
    """The demos' --format choices are spelled out (parsing needs no torch); they must be the library's."""
    from sapiens2.apis.demo_options import KEYPOINT_FORMAT_NAMES
    from sapiens2.utils.keypoint_formats import KEYPOINT_FORMATS
    assert KEYPOINT_FORMAT_NAMES == KEYPOINT_FORMATS
