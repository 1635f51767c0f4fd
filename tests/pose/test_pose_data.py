"""COCO-WholeBody -> 308 mapping on the real sample, bad-data handling, codec round trip through the estimator,
flip-back of heatmaps."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import COCO_WHOLEBODY_SAMPLE, METAINFO

ANN = osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')
TEST_PIPELINE = [
    dict(type='LoadPoseImage'),
    dict(type='mmpose.GetBBoxCenterScale', padding=1.25),
    dict(type='mmpose.TopdownAffine', input_size=(96, 128), use_udp=True),
    dict(type='mmpose.PackPoseInputs'),
]


def _dataset(ann_file=ANN, pipeline=(), **kwargs):
    from mmengine.registry import init_default_scope

    from sapiens2.datasets import CocoWholeBody308Dataset
    init_default_scope('sapiens2')
    return CocoWholeBody308Dataset(ann_file=ann_file, data_root='', data_prefix=dict(img=COCO_WHOLEBODY_SAMPLE + '/'),
                                   pipeline=list(pipeline), test_mode=True, **kwargs)


def test_coco_wholebody_maps_53_keypoints_into_308():
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        meta = json.load(f)
    mapping = {int(k): v for k, v in meta['coco_wholebody133_to_keypoints308'].items()}
    assert len(mapping) == 53
    with open(ANN) as f:
        raw = {a['id']: a for a in json.load(f)['annotations']}
    ds = _dataset()
    # mmpose's top-down list keeps people with at least one labelled keypoint: 12 of the 14
    assert len(ds) == sum(a['num_keypoints'] > 0 for a in raw.values()) == 12
    assert ds.metainfo['num_keypoints'] == 308
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        a = raw[info['id']]
        k133 = np.array(a['keypoints'] + a['foot_kpts'] + a['face_kpts'] + a['lefthand_kpts'] + a['righthand_kpts'],
                        dtype=np.float32).reshape(133, 3)
        assert info['keypoints'].shape == (1, 308, 2)
        for src, dst in mapping.items():
            np.testing.assert_allclose(info['keypoints'][0, dst], k133[src, :2])
            assert info['keypoints_visible'][0, dst] == min(1.0, k133[src, 2])
        unmapped = sorted(set(range(308)) - set(mapping.values()))
        assert not info['keypoints_visible'][0, unmapped].any() and not info['keypoints'][0, unmapped].any()
        # the raw annotation the COCO metric reads is in the 308 layout too
        r = np.array(info['raw_ann_info']['keypoints']).reshape(308, 3)
        assert info['raw_ann_info']['num_keypoints'] == int((r[:, 2] > 0).sum())
        np.testing.assert_allclose(r[list(mapping.values())], k133[list(mapping.keys())])
    # left_wrist / right_wrist (COCO 9 / 10) land on their 308 names
    names = [k['name'] for k in meta['keypoints']] if isinstance(meta['keypoints'], list) else None
    if names:
        assert names[mapping[9]] == 'left_wrist' and names[mapping[10]] == 'right_wrist'


def test_bad_annotations(tmp_path):
    with open(ANN) as f:
        data = json.load(f)
    bad = copy.deepcopy(data)
    bad['annotations'][0]['foot_kpts'] = bad['annotations'][0]['foot_kpts'][:-3]
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=f"annotation id {bad['annotations'][0]['id']}"):
        _dataset(str(path))
    degenerate = copy.deepcopy(data)
    degenerate['annotations'][1]['bbox'] = [10.0, 10.0, 0.0, 25.0]
    path = tmp_path / 'degenerate.json'
    path.write_text(json.dumps(degenerate))
    with pytest.warns(UserWarning, match=f"annotation id {degenerate['annotations'][1]['id']}"):
        ds = _dataset(str(path))
    assert len(ds) == 11 and degenerate['annotations'][1]['id'] not in [d['id'] for d in ds]


def test_keypoints308_dataset_rejects_wrong_count(tmp_path):
    from mmengine.registry import init_default_scope

    from sapiens2.datasets import Keypoints308Dataset
    init_default_scope('sapiens2')
    img = dict(id=1, file_name='a.jpg', width=100, height=100)
    ann = dict(id=77, image_id=1, category_id=1, bbox=[10, 10, 50, 60], area=3000, iscrowd=0,
               keypoints=[0.0] * (3 * 307))
    path = tmp_path / 'k308.json'
    path.write_text(json.dumps(dict(images=[img], annotations=[ann], categories=[dict(id=1, name='person')])))
    with pytest.raises(ValueError, match='annotation id 77 has 921 keypoint values, expected 3 x 308'):
        Keypoints308Dataset(ann_file=str(path), data_root='', pipeline=[], test_mode=True)


def test_unreadable_image_names_the_file_or_is_skipped(tmp_path):
    from mmengine.registry import init_default_scope

    from sapiens2.datasets import CocoWholeBody308Dataset
    from sapiens2.datasets.transforms import LoadPoseImage
    with open(ANN) as f:
        data = json.load(f)
    data['images'][0]['file_name'] = 'missing.jpg'
    path = tmp_path / 'missing.json'
    path.write_text(json.dumps(data))
    ds = _dataset(str(path), pipeline=TEST_PIPELINE)
    with pytest.raises(OSError, match='missing.jpg'):
        ds[0]
    # training opt-in: warn, count, draw another sample
    init_default_scope('sapiens2')
    train = CocoWholeBody308Dataset(ann_file=str(path), data_root='',
                                    data_prefix=dict(img=COCO_WHOLEBODY_SAMPLE + '/'),
                                    pipeline=[dict(type='LoadPoseImage', skip_unreadable=True)])
    assert train.get_data_info(0)['img_path'].endswith('missing.jpg')
    before = LoadPoseImage.num_skipped
    with pytest.warns(UserWarning, match='missing.jpg'):
        item = train[0]  # index 0 is the missing image; the dataset refetches a random other index
    assert LoadPoseImage.num_skipped >= before + 1
    assert item['img'].ndim == 3 and not item['img_path'].endswith('missing.jpg')


def _tiny_estimator(codec_type):
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    from conftest import TINY_ARCH
    return MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='Sapiens2', arch=TINY_ARCH, img_size=(128, 96), out_type='featmap'),
        decode_head=dict(type='PoseHeatmapHead', in_channels=32, out_channels=308, deconv_out_channels=(16, 16),
                         conv_out_channels=(16,), conv_kernel_sizes=(1,)),
        codec=dict(type=codec_type, input_size=(96, 128), heatmap_size=(24, 32), sigma=2),
        test_cfg=dict(flip_test=False)))


@pytest.mark.parametrize('codec_type', ['UDPHeatmap', 'BatchedUDPHeatmap'])
def test_codec_round_trip_to_image_coordinates(codec_type):
    """GT keypoints -> crop (mmpose TopdownAffine) -> UDP heatmaps -> estimator.predict -> image keypoints ≈ GT."""
    from mmpose.codecs import UDPHeatmap
    ds = _dataset(pipeline=TEST_PIPELINE)
    model = _tiny_estimator(codec_type)
    encoder = UDPHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
    samples, heatmaps, gts, vis = [], [], [], []
    for i in range(3):
        item = ds[i]
        ds_ = item['data_samples']
        info = ds.get_data_info(i)
        # encode the GT keypoints mapped into the crop by the same affine (metainfo input_center / input_scale)
        c, s = ds_.metainfo['input_center'], ds_.metainfo['input_scale']
        crop = (info['keypoints'] - (c - 0.5 * s)) / s * np.array([96, 128])
        enc = encoder.encode(crop, info['keypoints_visible'])
        heatmaps.append(torch.from_numpy(enc['heatmaps']))
        samples.append(ds_)
        gts.append(info['keypoints'][0])
        vis.append(enc['keypoint_weights'][0] > 0)
    model.decode_head.forward = lambda feats: torch.stack(heatmaps)
    out = model.predict(torch.zeros(3, 3, 128, 96), samples)
    for o, gt, v, ds_ in zip(out, gts, vis, samples):
        pred = o.pred_instances.keypoints[0]
        assert pred.shape == (308, 2) and o.pred_instances.keypoint_scores.shape == (1, 308)
        px = ds_.metainfo['input_scale'][0] / 96  # image pixels per crop pixel
        err = np.abs(pred[v] - gt[v]).max()
        assert err < 0.25 * px * 4, (err, px)  # sub heatmap-pixel (4 crop px)
        np.testing.assert_allclose(o.pred_instances.bboxes, ds_.gt_instances.bboxes)


def test_flip_heatmaps_back_on_known_maps():
    from sapiens2.models.heads.pose_heatmap_head import flip_heatmaps_back
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        flip_indices = json.load(f)['flip_indices']
    H, W = 8, 6
    flipped = torch.zeros(1, 308, H, W)
    flipped[0, 1, 2, 1] = 1.0  # 'left_eye' seen at x = 1 in the mirrored crop
    back = flip_heatmaps_back(flipped, flip_indices)
    # in the original crop it is the right eye (index 2), at x = W - 1 - 1
    assert flip_indices[2] == 1
    assert back[0, 2, 2, W - 2] == 1.0 and back.sum() == 1.0
    with pytest.raises(ValueError, match='flip_indices'):
        flip_heatmaps_back(flipped, flip_indices[:10])


def test_flip_test_on_a_mirror_equivariant_network():
    """A head whose heatmaps follow the input mirror (channel k = image intensity for k in a swap-closed set)
    predicts the same with and without the flip test; a non-equivariant one changes by the exact average."""
    model = _tiny_estimator('BatchedUDPHeatmap')
    with open(osp.join(METAINFO, 'keypoints308.json')) as f:
        flip_indices = json.load(f)['flip_indices']
    img = torch.zeros(1, 3, 128, 96)
    img[..., 40:44, 20:24] = 1.0
    model.extract_feat = lambda x: x
    pooled = lambda x: torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 4)  # noqa: E731
    model.decode_head.forward = lambda x: pooled(x).expand(-1, 308, -1, -1).clone()
    plain = model.predict_heatmaps(img)
    flipped = model.predict_heatmaps(img, flip_indices)
    torch.testing.assert_close(flipped, plain)
    # left/right asymmetric head: channel k gets k-dependent gain -> flip test mixes partner channels
    gain = torch.arange(1, 309, dtype=torch.float32).view(1, 308, 1, 1)
    model.decode_head.forward = lambda x: pooled(x) * gain
    flipped = model.predict_heatmaps(img, flip_indices)
    expected = 0.5 * (pooled(img) * gain + pooled(img) * gain[:, flip_indices])
    torch.testing.assert_close(flipped, expected)


def test_released_train_pipeline_on_the_sample():
    """The 1b config's training pipeline (flip, half body, box jitter, UDP affine 768×1024, photometric distortion,
    UDP targets 192×256 sigma 6) on real images."""
    from mmengine import Config

    from conftest import REPO_ROOT
    from sapiens2.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('sapiens2')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_1b_308kpt.py'))
    d = cfg.train_dataloader.dataset
    d.update(data_root=COCO_WHOLEBODY_SAMPLE + '/', ann_file='test_coco_wholebody.json', data_prefix=dict(img=''))
    ds = DATASETS.build(d)
    for i in range(2):
        item = ds[i]
        assert tuple(item['inputs'].shape) == (3, 1024, 768)
        sample = item['data_samples']
        assert tuple(sample.gt_fields.heatmaps.shape) == (308, 256, 192)
        weights = np.asarray(sample.gt_instance_labels.keypoint_weights)
        assert weights.shape == (1, 308) and 0 < weights.sum() <= 53
