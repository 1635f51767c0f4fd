"""Folder datasets (formats, bad-data errors, NaN handling) and the synthetic generator's physical consistency."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from sapiens2.datasets import NormalDataset, PointmapDataset, SegDataset
from sapiens2.datasets.synthetic import make_synthetic_sample, write_synthetic_dataset
from sapiens2.datasets.transforms import LoadDenseAnnotations, PackDenseInputs


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    return write_synthetic_dataset(str(tmp_path_factory.mktemp('synthetic')), 3, 64, 48)


def test_synthetic_sample_is_physically_consistent():
    s = make_synthetic_sample(64, 48, seed=5)
    # image = albedo x shading (up to 8-bit rounding)
    np.testing.assert_allclose(s['image'] / 255.0, np.clip(s['albedo'] * s['shading'][..., None], 0, 1), atol=0.5 / 255)
    # normals are unit vectors facing the camera; depth on the person is in front of the back plane
    m = s['mask'].astype(bool)
    np.testing.assert_allclose(np.linalg.norm(s['normal'], axis=-1), 1.0, atol=1e-5)
    assert (s['normal'][m][:, 2] < 0).all() and (s['depth'][m] < 4.0).all()
    assert set(np.unique(s['seg'][m])) <= {3, 11, 12, 13, 20, 21, 22} and (s['seg'][~m] == 0).all()


def test_datasets_read_the_documented_folders(roots):
    init_default_scope('sapiens2')
    seg = SegDataset(data_root=roots['seg'], pipeline=[dict(type='LoadImageFromFile'),
                                                       dict(type='LoadDenseAnnotations', task='seg')])
    assert len(seg) == 3 and seg[0]['gt_seg_map'].shape == (64, 48)
    pm = PointmapDataset(data_root=roots['pointmap'], pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadDenseAnnotations', task='pointmap'),
        dict(type='PackDenseInputs', task='pointmap')])
    sample = pm[1]['data_samples']
    K = np.loadtxt(osp.join(roots['pointmap'], 'camera_intrinsics', '00001.txt'))
    depth = np.load(osp.join(roots['pointmap'], 'depth', '00001.npy'))
    v, u = 30, 20
    x = (u - K[0, 2]) * depth[v, u] / K[0, 0] * 768 / K[0, 0]
    y = (v - K[1, 2]) * depth[v, u] / K[1, 1] * 768 / K[0, 0]
    np.testing.assert_allclose(sample.gt_pointmap.data[:, v, u].numpy(),
                               [x, y, depth[v, u] * 768 / K[0, 0]], rtol=1e-5)
    assert sample.metainfo['gt_scale'] == pytest.approx(768 / K[0, 0])


def test_seg_label_map_remaps_a_source_taxonomy(roots):
    init_default_scope('sapiens2')
    ds = SegDataset(data_root=roots['seg'], label_map={0: 0, 22: 1},
                    pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadDenseAnnotations', task='seg')])
    raw = cv2.imread(osp.join(roots['seg'], 'masks', '00000.png'), cv2.IMREAD_UNCHANGED)
    seg = ds[0]['gt_seg_map']
    assert ((seg == 1) == (raw == 22)).all() and ((seg == 255) == ~np.isin(raw, [0, 22])).all()


def test_missing_partner_and_orphan_files_name_both_paths(roots, tmp_path):
    root = tmp_path / 'normal'
    os.system(f'cp -r {roots["normal"]} {root}')
    os.remove(root / 'normal' / '00001.npy')
    with pytest.raises(FileNotFoundError, match=r'rgb/00001\.png has no normal_path file: expected .*normal/00001'):
        NormalDataset(data_root=str(root))
    np.save(root / 'normal' / '00001.npy', np.zeros((64, 48, 3), np.float32))
    cv2.imwrite(str(root / 'mask' / '00009.png'), np.zeros((64, 48), np.uint8))
    with pytest.raises(FileNotFoundError, match=r'mask/00009\.png has no image: expected .*rgb/00009'):
        NormalDataset(data_root=str(root))


def test_non_finite_targets_are_masked_and_counted_and_shape_errors_name_the_sample(roots, tmp_path):
    depth = np.load(osp.join(roots['pointmap'], 'depth', '00000.npy'))
    depth[10:12, 5:8] = np.nan
    depth[0, 0] = np.inf
    path = tmp_path / 'd.npy'
    np.save(path, depth)
    img = cv2.imread(osp.join(roots['pointmap'], 'rgb', '00000.png'))
    res = dict(img=img, ori_shape=img.shape[:2], img_path='sample-0', depth_path=str(path), mask_path=None,
               cam_K_path=osp.join(roots['pointmap'], 'camera_intrinsics', '00000.txt'))
    out = LoadDenseAnnotations('pointmap')(res)
    assert out['num_invalid_target_pixels'] == 7
    assert out['gt_mask'][10:12, 5:8].sum() == 0 and out['gt_mask'][0, 0] == 0 and out['gt_mask'].sum() == 64 * 48 - 7
    packed = PackDenseInputs('pointmap')(out)['data_samples']
    assert np.isfinite(packed.gt_pointmap.data.numpy()).all()
    np.save(path, depth[:-1])
    with pytest.raises(ValueError, match=r'sample sample-0: gt_depth .* shape \(63, 48\), the image has \(64, 48\)'):
        LoadDenseAnnotations('pointmap')(dict(res, ori_shape=(64, 48)))
