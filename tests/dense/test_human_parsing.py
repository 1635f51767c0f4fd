"""Human-parsing datasets (LIP / CIHP, ATR, Pascal-Person-Part): class lists, flip swaps and label maps against
hand-written references, the converter on tiny fake source trees, and a tiny 20-class LIP model end to end."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine import Config
from PIL import Image

from conftest import REPO_ROOT

METAINFO = osp.join(REPO_ROOT, 'sapiens2', 'metainfo')
CONVERTER = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'human_parsing.py')
# the published class lists, in id order (LIP: Gong et al. 2017, also CIHP; ATR: Liang et al. 2015; Pascal-Person-
# Part as merged to 7 classes by Graphonomy / SCHP)
PUBLISHED = dict(
    lip=['Background', 'Hat', 'Hair', 'Glove', 'Sunglasses', 'UpperClothes', 'Dress', 'Coat', 'Socks', 'Pants',
         'Jumpsuits', 'Scarf', 'Skirt', 'Face', 'Left-arm', 'Right-arm', 'Left-leg', 'Right-leg', 'Left-shoe',
         'Right-shoe'],
    atr=['Background', 'Hat', 'Hair', 'Sunglasses', 'Upper-clothes', 'Skirt', 'Pants', 'Dress', 'Belt', 'Left-shoe',
         'Right-shoe', 'Face', 'Left-leg', 'Right-leg', 'Left-arm', 'Right-arm', 'Bag', 'Scarf'],
    pascal_person_part=['Background', 'Head', 'Torso', 'Upper-arms', 'Lower-arms', 'Upper-legs', 'Lower-legs'])
# source class -> seg29 class, by name, written by hand; every other source class must map to 255 (ignored)
MAPPED = dict(
    lip={'Background': 'Background', 'Hair': 'Hair', 'Sunglasses': 'Eyeglass', 'UpperClothes': 'Upper_Clothing',
         'Coat': 'Upper_Clothing', 'Pants': 'Lower_Clothing', 'Skirt': 'Lower_Clothing', 'Face': 'Face_Neck',
         'Left-shoe': 'Left_Shoe', 'Right-shoe': 'Right_Shoe'},
    atr={'Background': 'Background', 'Hair': 'Hair', 'Sunglasses': 'Eyeglass', 'Upper-clothes': 'Upper_Clothing',
         'Skirt': 'Lower_Clothing', 'Pants': 'Lower_Clothing', 'Face': 'Face_Neck', 'Left-shoe': 'Left_Shoe',
         'Right-shoe': 'Right_Shoe'})


def _meta(name):
    with open(osp.join(METAINFO, f'{name}.json')) as f:
        return json.load(f)


def _side(name):
    low = name.lower()
    return 'left' if low.startswith('left') else 'right' if low.startswith('right') else None


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_class_list_is_the_published_one(name):
    meta = _meta(name)
    assert meta['classes'] == PUBLISHED[name]
    assert meta['num_classes'] == len(PUBLISHED[name]) == len(meta['palette'])
    assert len({tuple(p) for p in meta['palette']}) == meta['num_classes'] and meta['ignore_index'] == 255


@pytest.mark.parametrize('name', sorted(PUBLISHED) + ['seg29'])
def test_flip_swap_pairs_are_an_involution_swapping_left_and_right(name):
    meta = _meta(name)
    classes = meta['classes']
    perm = np.arange(len(classes))
    for a, b in meta['flip_swap_pairs']:
        perm[a], perm[b] = b, a
    assert (perm[perm] == np.arange(len(classes))).all()
    for i, j in enumerate(perm):
        if _side(classes[i]) is None:
            assert i == j, f'{classes[i]} has no side but is swapped with {classes[j]}'
        else:  # every sided class has its mirror partner: same name, other side
            other = {'left': 'right', 'right': 'left'}[_side(classes[i])]
            assert _side(classes[j]) == other, (classes[i], classes[j])
            assert classes[j].lower()[len(other):] == classes[i].lower()[len(_side(classes[i])):]


@pytest.mark.parametrize('name', sorted(MAPPED))
def test_label_map_to_seg29_is_the_hand_checked_one(name):
    classes, seg29 = _meta(name)['classes'], _meta('seg29')['classes']
    with open(osp.join(METAINFO, f'{name}_to_seg29.json')) as f:
        label_map = {int(k): v for k, v in json.load(f).items()}
    assert sorted(label_map) == list(range(len(classes)))
    got = {classes[s]: seg29[d] for s, d in label_map.items() if d != 255}
    assert got == MAPPED[name]
    # mapping commutes with the horizontal flip: map(flip_src(c)) == flip_seg29(map(c))
    flip_src = dict(p for a, b in _meta(name)['flip_swap_pairs'] for p in ((a, b), (b, a)))
    flip_dst = dict(p for a, b in _meta('seg29')['flip_swap_pairs'] for p in ((a, b), (b, a)))
    for s, d in label_map.items():
        assert label_map[flip_src.get(s, s)] == flip_dst.get(d, d), classes[s]


@pytest.mark.parametrize('name', sorted(PUBLISHED) + ['lip_to_seg29'])
def test_configs_bind_the_dataset_class_list(name):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'seg', f'sapiens2_1b_{name}.py'))
    meta = _meta('seg29' if name == 'lip_to_seg29' else name)
    assert cfg.model.decode_head.num_classes == len(meta['classes'])
    flips = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'DenseRandomFlip']
    assert [list(map(list, t.swap_seg_labels)) for t in flips] == [meta['flip_swap_pairs']]
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert list(loader.dataset.metainfo['classes']) == meta['classes']
    if name == 'lip_to_seg29':
        with open(osp.join(METAINFO, 'lip_to_seg29.json')) as f:
            expected = {int(k): v for k, v in json.load(f).items()}
        assert cfg.train_dataloader.dataset.label_map == cfg.test_dataloader.dataset.label_map == expected
    else:
        assert all(loss.get('class_weight') is None for loss in cfg.model.decode_head.loss_decode)


# ---- converter ------------------------------------------------------------------------------------------------

def _mask(h, w, ids):
    """An h×w uint8 mask of vertical stripes with the given ids, left to right, as equal as possible."""
    cols = np.array_split(np.arange(w), len(ids))
    return np.concatenate([np.full((h, len(c)), i, np.uint8) for i, c in zip(ids, cols)], axis=1)


def _fake_lip(root, samples, h=32, w=24):
    """LIP's released layout (with the archives' extra top folders): {split: {stem: ids}} -> the source folder."""
    rng = np.random.default_rng(0)
    for split, items in samples.items():
        img_dir = osp.join(root, 'TrainVal_images', 'TrainVal_images', f'{split}_images')
        mask_dir = osp.join(root, 'TrainVal_parsing_annotations', f'{split}_segmentations')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(mask_dir, exist_ok=True)
        for stem, ids in items.items():
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(osp.join(img_dir, stem + '.jpg'))
            Image.fromarray(_mask(h, w, ids), mode='L').save(osp.join(mask_dir, stem + '.png'))
    return str(root)


def _convert(*args):
    return subprocess.run([sys.executable, CONVERTER, *map(str, args)], capture_output=True, text=True)


def test_converter_writes_folders_with_native_and_remapped_ids(tmp_path):
    src = _fake_lip(tmp_path / 'LIP', {'train': {'77_1': [0, 2, 18, 19], '77_2': [13, 14, 5]},
                                       'val': {'99_1': [9, 12, 255]}})
    native, mapped = tmp_path / 'native', tmp_path / 'mapped'
    for out, extra in ((native, []), (mapped, ['--label-map', 'lip_to_seg29'])):
        res = _convert('lip', src, out, *extra)
        assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(native / 'train' / 'images')) == ['77_1.jpg', '77_2.jpg']
    assert sorted(os.listdir(native / 'val' / 'masks')) == ['99_1.png']
    stripes = lambda p: np.asarray(Image.open(p))[0, [0, 12, 23]].tolist()  # noqa: E731
    # native ids unchanged; seg29 by hand: Hair 2->4, Left-shoe 18->9, Right-shoe 19->18, Face 13->3,
    # Left-arm 14->255, UpperClothes 5->23, Pants 9->13, Skirt 12->13, ignore stays 255
    native_mask = np.asarray(Image.open(native / 'train' / 'masks' / '77_1.png'))
    assert np.array_equal(native_mask, _mask(32, 24, [0, 2, 18, 19]))
    assert np.asarray(Image.open(mapped / 'train' / 'masks' / '77_1.png'))[0, [0, 6, 12, 18]].tolist() == [0, 4, 9, 18]
    assert stripes(mapped / 'train' / 'masks' / '77_2.png') == [3, 255, 23]
    assert stripes(mapped / 'val' / 'masks' / '99_1.png') == [13, 13, 255]
    record = json.loads((mapped / 'conversion.json').read_text())
    assert record['samples'] == {'train': 2, 'val': 1} and record['label_map'].endswith('lip_to_seg29.json')


def test_converter_refuses_bad_masks_naming_the_file(tmp_path):
    src = _fake_lip(tmp_path / 'LIP', {'train': {'a': [0, 20]}, 'val': {'b': [0]}})
    res = _convert('lip', src, tmp_path / 'out')
    assert res.returncode != 0 and 'a.png' in res.stderr and '20 (' in res.stderr and '20 classes' in res.stderr
    os.remove(osp.join(src, 'TrainVal_images', 'TrainVal_images', 'val_images', 'b.jpg'))
    res = _convert('lip', src, tmp_path / 'out', '--splits', 'val')
    assert res.returncode != 0 and 'b.png has no image' in res.stderr
    mask = osp.join(src, 'TrainVal_parsing_annotations', 'train_segmentations', 'a.png')
    Image.fromarray(np.zeros((32, 24, 3), np.uint8)).save(mask)
    res = _convert('lip', src, tmp_path / 'out', '--splits', 'train')
    assert res.returncode != 0 and 'a.png is a RGB image' in res.stderr


def test_converter_reads_cihp_palette_masks(tmp_path):
    img_dir, mask_dir = (tmp_path / 'CIHP' / 'instance-level_human_parsing' / 'Training' / d
                         for d in ('Images', 'Category_ids'))
    img_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 6, 3), np.uint8)).save(img_dir / '0001.jpg')
    ids = _mask(8, 6, [15, 16, 17])
    pal = Image.fromarray(ids, mode='P')
    pal.putpalette([v for i in range(256) for v in (i, 255 - i, 0)])
    pal.save(mask_dir / '0001.png')
    res = _convert('cihp', tmp_path / 'CIHP', tmp_path / 'out', '--splits', 'train')
    assert res.returncode == 0, res.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / 'out' / 'train' / 'masks' / '0001.png')), ids)


def test_lip_to_seg29_config_reads_native_lip_folders_as_seg29(tmp_path, monkeypatch):
    import sapiens2.datasets  # noqa: F401  (registers the datasets and transforms)
    from mmengine.registry import init_default_scope

    from sapiens2.registry import DATASETS
    src = _fake_lip(tmp_path / 'LIP', {'train': {'t': [0]}, 'val': {'v': [2, 14, 18, 5]}})
    assert _convert('lip', src, tmp_path / 'data' / 'lip').returncode == 0
    monkeypatch.setenv('DATA_ROOT', str(tmp_path / 'data') + '/')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'seg', 'sapiens2_1b_lip_to_seg29.py'))
    init_default_scope('sapiens2')
    sample = DATASETS.build(cfg.val_dataloader.dataset)[0]['data_samples']
    gt = sample.gt_sem_seg.data[0].numpy()  # test labels stay at the original size
    # by hand: Hair 2 -> 4, Left-arm 14 -> 255 (ignored), Left-shoe 18 -> 9, UpperClothes 5 -> 23
    assert np.array_equal(gt, _mask(32, 24, [4, 255, 9, 23]))


# ---- a tiny 20-class model end to end -----------------------------------------------------------------------------

def test_tiny_lip_model_trains_and_evaluates_with_20_classes(tmp_path, monkeypatch):
    from mmengine.runner import Runner
    samples = {split: {f'{split}_{i}': [(3 * i + k) % 20 for k in range(5)] + [255] for i in range(n)}
               for split, n in (('train', 4), ('val', 2))}
    src = _fake_lip(tmp_path / 'LIP', samples, h=128, w=96)
    res = _convert('lip', src, tmp_path / 'data' / 'lip')
    assert res.returncode == 0, res.stderr
    monkeypatch.setenv('DATA_ROOT', str(tmp_path / 'data') + '/')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'seg', 'sapiens2_tiny_lip.py'))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    assert runner.model.decode_head.num_classes == 20
    runner.train()
    metrics = runner.test()
    assert math.isfinite(metrics['mIoU'])
    assert sorted(k[4:] for k in metrics if k.startswith('IoU.')) == sorted(PUBLISHED['lip'])


def test_metainfo_to_config_generates_a_users_own_class_list(tmp_path):
    script = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'metainfo_to_config.py')
    meta = dict(dataset_name='my_parsing', classes=['bg', 'Left-hand', 'Right-hand', 'hat'],
                palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]], flip_swap_pairs=[[1, 2]], ignore_index=255)
    (tmp_path / 'my_parsing.json').write_text(json.dumps(meta))
    (tmp_path / 'my_parsing_to_seg29.json').write_text(json.dumps({'0': 0, '1': 6, '2': 15, '3': 255}))
    res = subprocess.run([sys.executable, script, '--out-dir', str(tmp_path), '--extra',
                          str(tmp_path / 'my_parsing.json')], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    cfg = Config.fromfile(str(tmp_path / 'my_parsing.py'))
    assert cfg.my_parsing_num_classes == 4 and cfg.my_parsing_flip_swap_pairs == [[1, 2]]
    assert list(cfg.my_parsing_metainfo['classes']) == meta['classes']
    assert cfg.my_parsing_to_seg29 == {0: 0, 1: 6, 2: 15, 3: 255}
    meta['flip_swap_pairs'] = [[1, 4]]  # id 4 does not exist
    (tmp_path / 'my_parsing.json').write_text(json.dumps(meta))
    res = subprocess.run([sys.executable, script, '--out-dir', str(tmp_path), '--extra',
                          str(tmp_path / 'my_parsing.json')], capture_output=True, text=True)
    assert res.returncode != 0 and 'my_parsing.json: flip_swap_pairs [[1, 4]]' in res.stderr
