"""Matting folders, alpha / foreground / trimap loading (8- and 16-bit) and packing."""
import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import sapiens2.datasets  # noqa: F401
from sapiens2.datasets import MattingDataset


def write_folder(root, with_fg=True, with_trimap=True):
    g = np.random.default_rng(0)
    for sub in ['images', 'alphas'] + (['foregrounds'] if with_fg else []) + (['trimaps'] if with_trimap else []):
        (root / sub).mkdir(parents=True, exist_ok=True)
    alphas = {}
    for i, (h, w) in enumerate([(30, 20), (24, 36)]):
        name = f'{i:02d}'
        cv2.imwrite(str(root / 'images' / f'{name}.jpg'), g.integers(0, 256, (h, w, 3), dtype=np.uint8))
        if i == 0:  # 16-bit alpha
            a16 = g.integers(0, 65536, (h, w), dtype=np.uint16)
            cv2.imwrite(str(root / 'alphas' / f'{name}.png'), a16)
            alphas[name] = a16 / 65535
        else:
            a8 = g.integers(0, 256, (h, w), dtype=np.uint8)
            cv2.imwrite(str(root / 'alphas' / f'{name}.png'), a8)
            alphas[name] = a8 / 255
        if with_fg:
            fg = np.zeros((h, w, 3), np.uint8)
            fg[..., 2] = 255  # BGR red
            cv2.imwrite(str(root / 'foregrounds' / f'{name}.png'), fg)
        if with_trimap:
            cv2.imwrite(str(root / 'trimaps' / f'{name}.png'), np.full((h, w), 128, np.uint8))
    return alphas


LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadMattingAnnotations', with_trimap=True)]


def test_dataset_loads_8_and_16_bit_alphas_foreground_and_trimap(tmp_path):
    init_default_scope('sapiens2')
    alphas = write_folder(tmp_path)
    ds = MattingDataset(data_root=str(tmp_path), pipeline=LOAD + [dict(type='PackMattingInputs')], test_mode=True)
    assert len(ds) == 2
    for i in range(2):
        sample = ds[i]['data_samples']
        name = sample.metainfo['sample_name']
        alpha = sample.gt_alpha.data
        assert alpha.shape[0] == 1 and np.allclose(alpha[0].numpy(), alphas[name], atol=1e-6)
        fg = sample.gt_foreground.data
        assert fg.shape[0] == 3 and fg[0].min() == 1 and fg[1:].max() == 0  # RGB: red first
        assert sample.gt_trimap.data.shape == alpha.shape and (sample.gt_trimap.data == 128).all()
        assert (sample.gt_image.data.numpy() == ds[i]['inputs'].numpy()[::-1]).all()  # RGB of the BGR input


def test_optional_folders_may_be_absent(tmp_path):
    init_default_scope('sapiens2')
    write_folder(tmp_path, with_fg=False, with_trimap=False)
    ds = MattingDataset(data_root=str(tmp_path), pipeline=LOAD + [dict(type='PackMattingInputs')])
    sample = ds[0]['data_samples']
    assert 'gt_foreground' not in sample and 'gt_trimap' not in sample and 'gt_alpha' in sample


def test_training_resize_keeps_targets_aligned_and_test_resize_keeps_original_targets(tmp_path):
    init_default_scope('sapiens2')
    write_folder(tmp_path)
    info = MattingDataset(data_root=str(tmp_path)).get_data_info(1)  # 24×36 image
    train = Compose(LOAD[:1] + [dict(type='LoadMattingAnnotations'),
                                dict(type='LetterboxResize', scale=(16, 16)), dict(type='PackMattingInputs')])
    out = train(dict(info))
    assert tuple(out['inputs'].shape) == (3, 16, 16)
    s = out['data_samples']
    assert s.gt_alpha.data.shape == (1, 16, 16) and s.gt_foreground.data.shape == (3, 16, 16)
    assert s.gt_image.data.shape == (3, 16, 16) and 'gt_trimap' not in s
    top, bottom = s.metainfo['pad_param'][:2]
    assert top + bottom > 0 and (s.gt_alpha.data[0, :top] == 0).all()  # padding is background
    test = Compose(LOAD[:1] + [dict(type='LetterboxResize', scale=(16, 16), resize_targets=False)] + LOAD[1:] +
                   [dict(type='PackMattingInputs')])
    s = test(dict(info))['data_samples']
    assert s.gt_alpha.data.shape == (1, 24, 36) and 'gt_image' not in s  # the image is letterboxed, alpha is not


def test_loading_errors_name_the_file(tmp_path):
    init_default_scope('sapiens2')
    write_folder(tmp_path)
    cv2.imwrite(str(tmp_path / 'alphas' / '00.png'), np.zeros((5, 5), np.uint8))
    ds = MattingDataset(data_root=str(tmp_path), pipeline=LOAD, test_mode=True)
    with pytest.raises(ValueError, match=r'alphas/00\.png has shape \(5, 5\)'):
        ds[0]
    rgb = np.zeros((30, 20, 3), np.uint8)
    rgb[..., 1] = 9
    cv2.imwrite(str(tmp_path / 'alphas' / '00.png'), rgb)
    with pytest.raises(ValueError, match='must be single-channel'):
        ds[0]
    (tmp_path / 'foregrounds' / '01.png').unlink()
    with pytest.raises(FileNotFoundError, match='has no foreground_path file'):
        MattingDataset(data_root=str(tmp_path))


def test_rgba_alpha_file_is_refused_unless_its_alpha_channel_is_opaque(tmp_path):
    """A 4-channel alpha file: grey RGB with an opaque A channel is the grey matte; a matte kept in the A channel
    (RGB constant, e.g. white) is refused instead of being read as the constant RGB."""
    from sapiens2.datasets.transforms.matting_loading import read_alpha
    matte = np.arange(30 * 20, dtype=np.uint8).reshape(30, 20)
    grey_opaque = np.dstack([matte, matte, matte, np.full_like(matte, 255)])
    cv2.imwrite(str(tmp_path / 'grey.png'), grey_opaque)
    np.testing.assert_allclose(read_alpha(str(tmp_path / 'grey.png')), matte / 255, atol=1e-7)
    in_alpha_channel = np.dstack([np.full_like(matte, 255)] * 3 + [matte])
    cv2.imwrite(str(tmp_path / 'a_channel.png'), in_alpha_channel)
    with pytest.raises(ValueError, match=r'a_channel\.png'):
        read_alpha(str(tmp_path / 'a_channel.png'))
