"""Image-folder dataset (recursive / list file) and the multi-view pipeline."""
import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT
from sapiens2.datasets import ImageFolderDataset
from sapiens2.datasets.transforms import ColorJitterNp2, adjust_hue
from sapiens2.registry import DATASETS


def make_images(root, n=3, size=(40, 30)):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        sub = root / f'd{i % 2}' / 'x'
        sub.mkdir(parents=True, exist_ok=True)
        p = sub / f'img{i}.png'
        cv2.imwrite(str(p), rng.integers(0, 255, (*size, 3), dtype=np.uint8))
        paths.append(p)
    (root / 'notes.txt').write_text('not an image')
    return paths


def test_recursive_and_list_file(tmp_path):
    paths = make_images(tmp_path)
    ds = ImageFolderDataset(data_root=str(tmp_path))
    assert [d['img_path'] for d in ds] == sorted(str(p) for p in paths)
    listing = tmp_path / 'list.txt'
    listing.write_text('# a comment\nd0/x/img0.png\n\nd0/x/img2.png\n')
    ds = ImageFolderDataset(data_root=str(tmp_path), ann_file=str(listing))
    assert [d['img_path'] for d in ds] == [str(tmp_path / 'd0/x/img0.png'), str(tmp_path / 'd0/x/img2.png')]
    with pytest.raises(ValueError, match='no images'):
        ImageFolderDataset(data_root=str(tmp_path), extensions=('.gif',))
    with pytest.raises(FileNotFoundError, match='not found'):
        ImageFolderDataset(data_root=str(tmp_path / 'missing'))


def test_unreadable_files_are_skipped_counted_and_logged(tmp_path):
    make_images(tmp_path, n=2)
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG broken')
    (tmp_path / 'gone.png').symlink_to(tmp_path / 'does_not_exist.png')
    ds = ImageFolderDataset(data_root=str(tmp_path), pipeline=[dict(type='mmpretrain.LoadImageFromFile')])
    assert len(ds) == 4
    seen = {ds[i]['img_path'] for i in range(len(ds))}
    assert all('bad' not in p and 'gone' not in p for p in seen)
    assert sorted(p.rsplit('/', 1)[1] for p in ds.skipped_paths) == ['bad.png', 'gone.png']
    assert ds.num_skipped == 2


def test_multi_view_pipeline_shapes(tmp_path):
    make_images(tmp_path, n=2, size=(200, 150))
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/pretrain/sapiens2_tiny_pretrain_cpu.py')
    init_default_scope('sapiens2')
    ds_cfg = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path))
    ds = DATASETS.build(ds_cfg)
    batch = default_collate([ds[0], ds[1]])
    shapes = [tuple(v.shape) for v in batch['inputs']]
    assert shapes == [(2, 3, 128, 96)] * 2 + [(2, 3, 64, 48)] * 4


def test_adjust_hue_negative_and_reference():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL).astype(int)
    out = cv2.cvtColor(adjust_hue(img, -0.25), cv2.COLOR_BGR2HSV_FULL).astype(int)
    expected = (hsv[..., 0] - 64) % 256
    diff = np.minimum(np.abs(out[..., 0] - expected), 256 - np.abs(out[..., 0] - expected))
    colourful = (hsv[..., 1] > 80) & (hsv[..., 2] > 80)  # hue is ill-defined for grey / dark pixels
    assert diff[colourful].max() <= 3
    roundtrip = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL), cv2.COLOR_HSV2BGR_FULL)
    np.testing.assert_array_equal(adjust_hue(img, 0.0), roundtrip)  # no shift: only the HSV round trip
    out = ColorJitterNp2(hue=0.5).transform(dict(img=img))['img']  # would overflow in mmcv on negative draws
    assert out.shape == img.shape and out.dtype == np.uint8
