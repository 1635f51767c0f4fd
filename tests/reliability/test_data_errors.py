"""Issue #12 items 10, 5, 11 and 4: bad data is refused or skipped with the file named (out-of-range / 16-bit
segmentation ids, unreadable dense images, NaN keypoints, truncated annotation JSON, ``estimate_memory.py --gpus
0``); a resumed run skips the trained batches in the sampler (same order, no data work); a full disk during an FSDP
checkpoint is named on every rank, which stop at once, keeping the previous checkpoint."""
import importlib.util
import json
import os
import os.path as osp
import re
from datetime import datetime

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT

ANN = osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json')
SEG_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadDenseAnnotations', task='seg')]
SEG_METAINFO = dict(classes=tuple(f'class{i}' for i in range(29)))


@pytest.fixture
def seg_root(tmp_path):
    from sapiens2.datasets.synthetic import write_synthetic_dataset
    return write_synthetic_dataset(str(tmp_path), 3, 32, 24, tasks=('seg', ))['seg']


def _seg(root, **kwargs):
    from sapiens2.datasets import SegDataset
    init_default_scope('sapiens2')
    return SegDataset(data_root=root, metainfo=SEG_METAINFO, pipeline=SEG_PIPELINE, **kwargs)


# ------------------------------------------------------------------ item 10: segmentation ids, JSON, --gpus 0
def test_16bit_or_out_of_range_seg_ids_name_the_mask_the_ids_and_the_range(seg_root):
    mask_path = osp.join(seg_root, 'masks', '00001.png')
    seg = cv2.imread(mask_path, cv2.IMREAD_UNCHANGED)
    seg[0, :3] = 255  # ignore: valid
    cv2.imwrite(mask_path, seg)
    assert _seg(seg_root)[1]['gt_seg_map'][0, 0] == 255
    # 16-bit mask with id 257: used to wrap to class 1 (astype(uint8)) and train on
    wide = seg.astype(np.uint16)
    wide[5, 5] = 257
    cv2.imwrite(mask_path, wide)
    for test_mode in (False, True):
        with pytest.raises(ValueError, match=r'masks/00001\.png \(uint16\) has invalid class id\(s\) 257 \(1 px\); '
                                             r'valid: 0-28 \(29 classes.*or 255 \(ignore\)'):
            _seg(seg_root, test_mode=test_mode)[1]
    # 8-bit id 40 with 29 classes: used to stop in the loss without the file (training), be dropped (testing)
    seg[2:4, 2:4] = 40
    cv2.imwrite(mask_path, seg)
    with pytest.raises(ValueError, match=r'masks/00001\.png \(uint8\) has invalid class id\(s\) 40 \(4 px\)'):
        _seg(seg_root, test_mode=True)[1]
    # a label map may take 16-bit source ids (unmapped ones become 255)
    wide[2:4, 2:4] = 300
    cv2.imwrite(mask_path, wide)
    out = _seg(seg_root, label_map={300: 7})[1]['gt_seg_map']
    assert out.dtype == np.uint8 and (out[2:4, 2:4] == 7).all() and out[5, 5] == 255


def test_truncated_annotation_json_names_the_file(tmp_path):
    from sapiens2.datasets import CocoWholeBody308Dataset, SegDataset
    from sapiens2.datasets.json_files import AnnotationFileError
    text = open(ANN).read()
    path = tmp_path / 'truncated.json'
    path.write_text(text[:len(text) // 2])
    init_default_scope('sapiens2')
    with pytest.raises(AnnotationFileError, match=rf'cannot parse annotation file {path} \(\d+ bytes\) at line '
                                                  r'\d+.*truncated or empty'):
        CocoWholeBody308Dataset(ann_file=str(path), data_root='', pipeline=[], test_mode=True)
    (tmp_path / 'map.json').write_text('{"1": 2, "3"')
    with pytest.raises(AnnotationFileError, match=r'label map .*map\.json'):
        SegDataset(data_root=str(tmp_path), label_map=str(tmp_path / 'map.json'))


def test_estimate_memory_refuses_zero_gpus(capsys):
    spec = importlib.util.spec_from_file_location(
        'estimate_memory_tool', osp.join(REPO_ROOT, 'tools', 'analysis', 'estimate_memory.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as exc:
        tool.main(['configs/_base_/models/sapiens2_0.4b.py', '--gpus', '0'])
    assert exc.value.code == 2 and '--gpus: must be at least 1, got 0' in capsys.readouterr().err


# ------------------------------------------------------------------ item 5: unreadable dense images, NaN keypoints
def test_unreadable_dense_images_are_skipped_in_training_and_named_in_testing(seg_root):
    from sapiens2.datasets.dense_folder_dataset import UnreadableImageError
    open(osp.join(seg_root, 'images', '00000.png'), 'wb').close()  # zero bytes
    good = open(osp.join(seg_root, 'images', '00001.png'), 'rb').read()
    with open(osp.join(seg_root, 'images', '00001.png'), 'wb') as f:
        f.write(good[:len(good) // 2])  # truncated
    train = _seg(seg_root)
    np.random.seed(0)
    for idx in (0, 1):
        item = train[idx]  # the sample is skipped and another one drawn: only 00002 is readable
        assert item['img_path'].endswith('00002.png') and item['gt_seg_map'].shape == (32, 24)
    assert [osp.basename(p) for p in train.skipped_paths] == ['00000.png', '00001.png'] and train.num_skipped == 2
    test = _seg(seg_root, test_mode=True)
    with pytest.raises(UnreadableImageError, match=r'SegDataset: image .*images/00000\.png is empty \(0 bytes\)'):
        test[0]
    with pytest.raises(UnreadableImageError, match=r'images/00001\.png cannot be decoded \(\d+ bytes: truncated'):
        test[1]
    # other errors are not hidden by the skip (the mask of a readable image is bad)
    cv2.imwrite(osp.join(seg_root, 'masks', '00002.png'), np.full((32, 24), 40, np.uint8))
    with pytest.raises(ValueError, match=r'masks/00002\.png'):
        train[2]
    # opt out: training stops naming the file
    with pytest.raises(UnreadableImageError, match='00000.png is empty'):
        _seg(seg_root, skip_unreadable=False)[0]


def test_nan_keypoints_are_invisible_with_a_warning_naming_the_annotation(tmp_path):
    from sapiens2.datasets import CocoWholeBody308Dataset
    with open(ANN) as f:
        data = json.load(f)
    ann = next(a for a in data['annotations'] if a['keypoints'][2] > 0 and a['keypoints'][5] > 0)
    ann['keypoints'][0] = float('nan')  # body keypoint 0 (nose): x NaN, still marked visible
    ann['keypoints'][5] = float('nan')  # body keypoint 1: visibility NaN
    path = tmp_path / 'nan.json'
    path.write_text(json.dumps(data))
    init_default_scope('sapiens2')
    with pytest.warns(UserWarning, match=rf'annotation id {ann["id"]} .*non-finite values in 2 keypoint\(s\).*'
                                         r'treated as invisible'):
        ds = CocoWholeBody308Dataset(ann_file=str(path), data_root='',
                                     data_prefix=dict(img=COCO_WHOLEBODY_SAMPLE + '/'), pipeline=[], test_mode=True)
    reference = CocoWholeBody308Dataset(ann_file=ANN, data_root='', data_prefix=dict(img=COCO_WHOLEBODY_SAMPLE + '/'),
                                        pipeline=[], test_mode=True)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    info = next(i for i in infos if i['id'] == ann['id'])
    ref = next(reference.get_data_info(i) for i in range(len(reference))
               if reference.get_data_info(i)['id'] == ann['id'])
    # what the model trains on and what CocoMetric evaluates against (raw_ann_info) are finite
    assert np.isfinite(info['keypoints']).all() and np.isfinite(info['keypoints_visible']).all()
    raw = np.asarray(info['raw_ann_info']['keypoints'], np.float32).reshape(-1, 3)
    assert np.isfinite(raw).all()
    changed = np.flatnonzero((info['keypoints_visible'] != ref['keypoints_visible'])[0])
    assert len(changed) == 2 and (info['keypoints_visible'][0, changed] == 0).all()
    assert (raw[changed] == 0).all()
    other = [i for i in infos if i['id'] != ann['id']]
    assert all(np.isfinite(i['keypoints']).all() for i in other)


# ------------------------------------------------------------------ item 11: resume skips in the sampler
class _Counting:
    """A dataset of its indices that counts the samples it prepares (per process)."""

    def __init__(self, size):
        self.size, self.loads = size, 0

    def __len__(self):
        return self.size

    def __getitem__(self, idx):
        self.loads += 1
        return idx


class _Loop:
    def __init__(self, dataloader):
        from mmengine.runner.loops import _InfiniteDataloaderIterator
        self.dataloader = dataloader
        self.dataloader_iterator = _InfiniteDataloaderIterator(dataloader)


@pytest.mark.parametrize('sampler_type,num_workers', [('InfiniteSampler', 0), ('InfiniteSampler', 1),
                                                      ('DefaultSampler', 0)])
def test_resume_skips_trained_batches_in_the_sampler_with_the_same_order(sampler_type, num_workers, monkeypatch):
    import mmengine.runner.loops as loops
    from mmengine.dataset import DefaultSampler, InfiniteSampler
    from torch.utils.data import DataLoader

    from sapiens2.engine.resume_data import ResumeIterator, skip_in_sampler
    monkeypatch.setattr(loops.time, 'sleep', lambda s: None)  # MMEngine waits 2 s at every epoch end

    def loop():
        dataset = _Counting(20)
        sampler = dict(InfiniteSampler=InfiniteSampler, DefaultSampler=DefaultSampler)[sampler_type](
            dataset, shuffle=True, seed=3)
        return _Loop(DataLoader(dataset, batch_size=3, sampler=sampler, num_workers=num_workers,
                                collate_fn=list)), dataset

    straight, _ = loop()
    batches = [next(straight.dataloader_iterator) for _ in range(12)]  # DefaultSampler: 7 batches an epoch
    resumed, dataset = loop()
    assert skip_in_sampler(resumed, 9) is None
    resumed.dataloader_iterator = ResumeIterator(resumed, 9, None, replay=False)
    assert [next(resumed.dataloader_iterator) for _ in range(9)] == [None] * 9  # MMEngine's replay: no data work
    assert [next(resumed.dataloader_iterator) for _ in range(3)] == batches[9:]
    if num_workers == 0:
        assert dataset.loads == 9  # only the 3 new batches were prepared (MMEngine's replay: 36)


# ------------------------------------------------------------------ item 4: disk full during a checkpoint
def _two_ranks(config, work_dir, timeout=150):
    """tools/train.py --launcher pytorch as ranks 0 and 1 started by hand; waits for both to end by themselves
    (a hang fails the test at ``timeout``). Returns (return codes, seconds, logs)."""
    import subprocess
    import sys
    import time

    import reliability_helpers as rh
    from sapiens2.engine.launch import free_port
    port, procs, start = free_port(), [], time.time()
    for rank in range(2):
        cmd = [sys.executable, osp.join(rh.REPO, 'tools', 'train.py'), str(config), '--work-dir', str(work_dir),
               '--launcher', 'pytorch']
        procs.append(subprocess.Popen(cmd, cwd=rh.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env=rh.env(MASTER_ADDR='127.0.0.1', MASTER_PORT=port, WORLD_SIZE=2, RANK=rank,
                                                 LOCAL_RANK=rank)))
    try:
        logs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs], time.time() - start, logs


@pytest.mark.parametrize('where,rank', [('shard', 1), ('extra', 0)])
def test_disk_full_during_fsdp_save_is_named_on_every_rank_and_keeps_the_previous_checkpoint(tmp_path, where, rank):
    """FSDP on 2 processes, checkpoints at 2 and 4 (max_keep_ckpts=1); writing iter_4.pth fails with ENOSPC on one
    rank (its DCP shard, or rank 0's extra_state.pth: before, the other rank waited in a barrier until the
    collective timeout). Both ranks stop at once with the cause; iter_2.pth and last_checkpoint are intact."""
    import reliability_helpers as rh
    work = tmp_path / 'work'
    fault = f"dict(type='DiskFullDuringSave', iteration=4, rank={rank}, where='{where}')"
    cfg = rh.write_config(tmp_path / 'cfg.py', f"custom_hooks = [{fault}]",
                          "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))",
                          bases=[f'{rh.REPO}/configs/_base_/strategies/fsdp.py'])
    codes, seconds, logs = _two_ranks(cfg, work)  # a hang would end at the 150 s timeout
    assert all(c not in (0, None) for c in codes), (codes, logs[0][-3000:], logs[1][-3000:])
    for log in logs:
        assert f'CheckpointWriteError: checkpoint {work}/iter_4.pth was not written: rank {rank}: no space left on ' \
               'device (ENOSPC) writing ' in log, log[-3000:]
        assert 'iter_2.pth) and last_checkpoint still names it' in log
    stamp = r'(\d\d/\d\d \d\d:\d\d:\d\d) - mmengine - \w+ - .*'
    stamps = [datetime.strptime(re.search(stamp + text, logs[0]).group(1), '%m/%d %H:%M:%S')
              for text in ('Saving checkpoint at 4 iterations', 'writing .* failed')]
    assert (stamps[1] - stamps[0]).total_seconds() < 20  # the failure is known on rank 0 within seconds of the save
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() == str(work / 'iter_2.pth')
    assert {'.metadata', '__0_0.distcp', '__1_0.distcp', 'extra_state.pth'} <= set(os.listdir(work / 'iter_2.pth'))
    assert not osp.exists(work / 'iter_4.pth') and not osp.exists(work / 'iter_4.pth.partial')


def test_disk_full_during_a_pth_save_keeps_the_previous_checkpoint(tmp_path):
    """One process (MMEngine's Runner, a .pth file): the same guarantees and message."""
    import reliability_helpers as rh
    work = tmp_path / 'work'
    cfg = rh.write_config(tmp_path / 'cfg.py',
                          "custom_hooks = [dict(type='DiskFullDuringSave', iteration=4, where='pth')]",
                          "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best=None))")
    res = rh.train(cfg, work, timeout=120)
    assert res.returncode != 0
    assert (f'CheckpointWriteError: checkpoint {work}/iter_4.pth was not written: rank 0: no space left on device '
            f'(ENOSPC) writing {work}/iter_4.pth.partial. No space left on the disk of {work}') in res.stderr, \
        res.stderr[-3000:]
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() == str(work / 'iter_2.pth')
    assert torch_load_iter(work / 'iter_2.pth') == 2 and not osp.exists(work / 'iter_4.pth.partial')


def torch_load_iter(path):
    import torch
    return torch.load(path, map_location='cpu', weights_only=False)['meta']['iter']
