"""tools/demo/human_pass.py end to end on the 4 bundled photos: a real Faster R-CNN v2 architecture (random,
person-biased weights from a local file) detects once, pose / seg / normal / pointmap (tiny random models) run, the
geometry is masked by the segmentation foreground, and the documented outputs and panels are written; two CPU
worker processes give results identical to one; --format and the drawn keypoint set."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.dirname(__file__))
from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT  # noqa: E402
from wild_helpers import DET_INPUT, TINY_CONFIGS, wild_weights  # noqa: E402,F401

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'demo'))
import human_pass  # noqa: E402

STEMS = ('000000000785', '000000040083', '000000196141', '000000197388')


@pytest.fixture
def weights(wild_weights):
    return wild_weights


def task_args(weights, tasks):
    argv = ['--tasks', ','.join(tasks)]
    for t in tasks:
        argv += [f'--{t}-config', TINY_CONFIGS[t], f'--{t}-checkpoint', weights[t]]
    return argv


def test_all_four_tasks_with_detector(weights, tmp_path):
    out = tmp_path / 'out'
    argv = task_args(weights, ('pose', 'seg', 'normal', 'pointmap')) + [
        '--input', COCO_WHOLEBODY_SAMPLE, '--output', str(out), '--det', 'fasterrcnn_v2', '--det-checkpoint',
        weights['det'], '--det-input-size', str(DET_INPUT), '--det-proposals', '20', '--det-nms-thr', '0.05',
        '--det-min-size', '60', '--no-flip-test', '--batch-size', '2', '--format', 'openpose18',
        '--panel-height', '128']
    summary = human_pass.main(argv)
    assert summary['frames'] == 4 and set(summary['times']) == {'detection', 'pose', 'seg', 'normal', 'pointmap'}
    for stem in STEMS:
        img = cv2.imread(osp.join(COCO_WHOLEBODY_SAMPLE, stem + '.jpg'))
        h, w = img.shape[:2]
        doc = json.loads((out / 'pose' / f'{stem}.json').read_text())
        assert doc['format'] == 'openpose18' and doc['detector'] == 'fasterrcnn_resnet50_fpn_v2'
        assert not doc['whole_image'] and len(doc['people']) >= 1
        for p in doc['people']:
            assert [k['name'] for k in p['keypoints']][:2] == ['nose', 'neck'] and len(p['keypoints']) == 18
            assert p['bbox_score'] >= 0.5 and p['bbox'][2] - p['bbox'][0] >= 60
        assert cv2.imread(str(out / 'pose' / f'{stem}.png')).shape == img.shape
        labels = cv2.imread(str(out / 'seg' / f'{stem}_labels.png'), cv2.IMREAD_GRAYSCALE)
        assert labels.shape == (h, w) and labels.max() < 29
        fg = labels > 0
        assert 0 < fg.mean() < 1  # random model: some foreground, some background
        normal = cv2.imread(str(out / 'normal' / f'{stem}.png'))
        depth = cv2.imread(str(out / 'pointmap' / f'{stem}.png'))
        assert normal.shape == depth.shape == (h, w, 3)
        assert not normal[~fg].any() and not depth[~fg].any()  # masked by the seg foreground
        assert normal[fg].any(-1).mean() > 0.99
        panel = cv2.imread(str(out / 'panel' / f'{stem}.jpg'))
        tile = int(round(w * 128 / h))
        assert panel.shape == (128, 5 * tile, 3)  # input | parts | normals | depth | skeleton


def read_outputs(out):
    files = sorted(p for p in out.rglob('*') if p.is_file() and p.suffix in ('.json', '.npy', '.png'))
    return {str(p.relative_to(out)): (np.load(p) if p.suffix == '.npy' else p.read_bytes()) for p in files}


def test_two_workers_identical_to_one(weights, tmp_path):
    import shutil
    import torch
    threads = torch.get_num_threads()
    photos = tmp_path / 'photos'
    photos.mkdir()
    for stem in STEMS[:2]:
        shutil.copy(osp.join(COCO_WHOLEBODY_SAMPLE, stem + '.jpg'), photos)
    base = task_args(weights, ('pose', 'seg', 'normal')) + ['--threads', '1',
        '--input', str(photos), '--bboxes', osp.join(COCO_WHOLEBODY_SAMPLE, 'test_coco_wholebody.json'),
        '--no-flip-test', '--batch-size', '1', '--save-pred', '--no-panel']
    try:
        human_pass.main(base + ['--output', str(tmp_path / 'one')])
    finally:
        torch.set_num_threads(threads)
    human_pass.main(base + ['--output', str(tmp_path / 'two'), '--devices', 'cpu,cpu'])
    one, two = read_outputs(tmp_path / 'one'), read_outputs(tmp_path / 'two')
    assert sorted(one) == sorted(two) and len(one) == 2 * 6  # pose json+png, seg png+labels, normal png+npy
    fg = cv2.imread(str(tmp_path / 'one' / 'seg' / f'{STEMS[0]}_labels.png'), cv2.IMREAD_GRAYSCALE) > 0
    normal = one[f'normal/{STEMS[0]}.npy']
    assert not normal[~fg].any() and np.abs(normal[fg]).sum(-1).min() > 0  # masked by the seg foreground
    for k in one:
        if k.endswith('.npy'):
            np.testing.assert_array_equal(one[k], two[k], err_msg=k)
        else:
            assert one[k] == two[k], k
    people = json.loads(one['pose/000000000785.json'])['people']
    assert len(people) == 1 and people[0]['bbox'] == pytest.approx([280.79, 44.73, 499.49, 391.41], abs=0.01)


def test_whole_image_is_announced_and_drawn_set(weights, tmp_path, capsys):
    out = tmp_path / 'out'
    human_pass.main(task_args(weights, ('pose', )) + [
        '--input', osp.join(COCO_WHOLEBODY_SAMPLE, '000000000785.jpg'), '--output', str(out), '--det', 'none',
        '--no-flip-test', '--no-panel'])
    assert 'using the whole image' in capsys.readouterr().out
    doc = json.loads((out / 'pose' / '000000000785.json').read_text())
    assert doc['whole_image'] and doc['people'][0]['bbox'] == [0, 0, 639, 424]  # 640x425 image


def test_draw_people_shows_only_the_set_inside_the_box():
    from sapiens2.utils.keypoint_formats import keypoint_set_ids, supervised_keypoint_set
    from sapiens2.utils.package_files import load_config
    from sapiens2.visualization.pose_visualization import draw_people
    assert supervised_keypoint_set(load_config(TINY_CONFIGS['pose'])) == 'coco_wholebody'
    ids = keypoint_set_ids('coco_wholebody')
    assert len(ids) == 53 and len(keypoint_set_ids('all')) == 308
    img = np.zeros((200, 200, 3), np.uint8)
    kpts = np.zeros((2, 308, 2), np.float32)
    scores = np.zeros((2, 308), np.float32)
    unsupervised = int(np.setdiff1d(np.arange(308), ids)[0])
    kpts[0, ids[0]], kpts[0, unsupervised], kpts[0, ids[1]] = (30, 30), (60, 60), (90, 40)
    kpts[1, ids[0]], kpts[1, ids[1]] = (150, 150), (20, 190)  # person 2's second keypoint is far outside its box
    scores[:, [ids[0], ids[1], unsupervised]] = 0.9
    boxes = np.array([[10, 10, 100, 100], [130, 130, 190, 190]], np.float32)
    out = draw_people(img, kpts, scores, [(ids[0], ids[1])], ids, boxes, track_ids=[1, 2], kpt_thr=0.3)
    assert out[30, 30].any() and out[40, 90].any()  # supervised keypoints drawn
    assert not out[60, 60].any()  # an unsupervised keypoint is not
    assert out[150, 150].any() and not out[190, 20].any()  # outside its padded box: not drawn
    assert tuple(out[30, 30]) != tuple(out[150, 150])  # one colour per person
    low = draw_people(img, kpts, scores * 0.1, [], ids, boxes, kpt_thr=0.3)
    assert not low[30, 30].any()  # below the threshold


def test_formats_api():
    from sapiens2.utils.keypoint_formats import KEYPOINT_FORMATS, format_keypoint_names, to_format
    kpts = np.random.default_rng(0).random((2, 308, 2)).astype(np.float32)
    scores = np.ones((2, 308), np.float32)
    sizes = dict(goliath308=308, coco17=17, coco_wholebody133=133, openpose18=18)
    for fmt in KEYPOINT_FORMATS:
        k, s = to_format(kpts, scores, fmt)
        assert k.shape == (2, sizes[fmt], 2) and len(format_keypoint_names(fmt)) == sizes[fmt]
    k, _ = to_format(kpts, scores, 'openpose18')
    np.testing.assert_allclose(k[:, 1], (kpts[:, 5] + kpts[:, 6]) / 2)  # neck = shoulder midpoint
    with pytest.raises(ValueError, match='--format'):
        to_format(kpts, scores, 'h36m')


def test_pose_demo_writes_a_non_308_model_in_its_own_keypoints(tmp_path, monkeypatch):
    """A COCO-WholeBody-133 model (tiny, random) through tools/demo/pose_demo.py: its 133 keypoints with mmpose's
    names are written and drawn; a --format conversion of the 308 layout is refused, naming the model's set."""
    import runpy

    import torch

    from sapiens2.apis import init_pose_model
    from sapiens2.utils.checkpoint import save_safetensors
    from sapiens2.utils.keypoint_formats import format_keypoint_names
    config = osp.join(REPO_ROOT, 'configs', 'pose', 'sapiens2_tiny_coco_wholebody133_sample.py')
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'pose133.safetensors')
    save_safetensors(init_pose_model(config).state_dict(), ckpt)
    image = osp.join(COCO_WHOLEBODY_SAMPLE, '000000000785.jpg')

    def demo(*extra):
        argv = ['pose_demo.py', config, ckpt, '--input', image, '--output', str(tmp_path / 'out'), '--no-flip-test']
        monkeypatch.setattr(sys, 'argv', argv + list(extra))
        runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo', 'pose_demo.py'), run_name='__main__')

    demo()
    doc = json.loads((tmp_path / 'out' / '000000000785.json').read_text())
    keypoints = doc['people'][0]['keypoints']
    assert [k['name'] for k in keypoints] == format_keypoint_names('coco_wholebody133')  # mmpose's own names
    assert doc['format'] == 'coco_wholebody'
    assert (tmp_path / 'out' / '000000000785.png').is_file()
    with pytest.raises(ValueError, match='this model predicts 133 keypoints'):
        demo('--format', 'openpose18')
