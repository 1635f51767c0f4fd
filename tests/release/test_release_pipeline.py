"""Inference equal to the released demos, end to end (README "Inference equal to the released demos").

Small random task models in the released state-dict layout (tests/data/release_pipeline, see its README.md) were run
through the released Sapiens2 demos (pose with flip test and the ground-truth boxes, seg, normal, pointmap) on the four
bundled COCO-WholeBody images and on a 3× enlarged copy of one of them (1920×1287: pose crops that shrink and crops
that enlarge, seg / normal / pointmap inputs that shrink, the pointmap smoothed before it is enlarged back). Here the
same weights go through our public API (``init_pose_model`` / ``inference_pose``, ``init_dense_model`` /
``inference_dense``) with configs that inherit the repo's 0.4b task configs and only swap in the small arch and head
widths, and the outputs are compared with the release's:
pose >= 99% of keypoints within 0.5 px, seg >= 99.5% of pixels agree, normal mean angle <= 0.5°, pointmap median
relative depth difference <= 0.1% on every image.
"""
import hashlib
import json
import os.path as osp

import cv2
import numpy as np
import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DATA = osp.join(ROOT, 'tests', 'data', 'release_pipeline')
IMAGES = osp.join(ROOT, 'data', 'coco_wholebody_sample')
BASES = dict(pose='configs/pose/sapiens2_0.4b_308kpt.py', seg='configs/seg/sapiens2_0.4b_seg29.py',
             normal='configs/geometry/sapiens2_0.4b_normal.py', pointmap='configs/geometry/sapiens2_0.4b_pointmap.py')
META = json.load(open(osp.join(DATA, 'models.json')))
X3 = json.load(open(osp.join(DATA, 'e2e_x3.json')))
NAMES = META['images']


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp('release_pipeline')


def small_config(workdir, task):
    """The repo's 0.4b task config with the small arch (a dict replacing the arch name: ``_delete_=True``) and
    head widths of the reference models."""
    head = dict(META['heads'][task], in_channels=META['arch']['embed_dims'])
    path = osp.join(workdir, f'small_{task}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(ROOT, BASES[task])!r}]\n"
                f"model = dict(backbone=dict(arch=dict(_delete_=True, **{META['arch']!r}), init_cfg=None),\n"
                f"             decode_head=dict(**{head!r}))\n")
    return path


def checkpoint(workdir, task, head_file=None):
    """The task model in the released layout: the shared backbone file + the task's head file."""
    from safetensors.torch import load_file, save_file
    head_file = head_file or f'e2e_{task}_head.safetensors'
    path = osp.join(workdir, f'{osp.splitext(head_file)[0]}_model.safetensors')
    save_file({**load_file(osp.join(DATA, 'e2e_backbone.safetensors')), **load_file(osp.join(DATA, head_file))}, path)
    return path


@pytest.fixture(scope='module')
def images():
    return [cv2.imread(osp.join(IMAGES, n), cv2.IMREAD_COLOR) for n in NAMES]


@pytest.fixture(scope='module')
def enlarged():
    """The enlarged sample image the x3 reference was made on (rebuilt as in make_enlarged_reference.py)."""
    img = cv2.imread(osp.join(IMAGES, X3['source']), cv2.IMREAD_COLOR)
    img = cv2.resize(img, (img.shape[1] * X3['factor'], img.shape[0] * X3['factor']), interpolation=cv2.INTER_CUBIC)
    assert list(img.shape) == X3['shape'] and hashlib.md5(img.tobytes()).hexdigest() == X3['md5'], \
        'the enlarged image differs from the one of the reference (another OpenCV build?)'
    assert img.shape[0] > 1024 and img.shape[1] > 768  # larger than the 1024×768 input on both sides
    return img


# ------------------------------------------------------------------------------------------------------------- pose
def pose_agreement(ours, ref):
    """% of keypoints within 0.5 px of the release's, counted where the release's score is > 0.3 and its keypoint
    lies inside the crop (the box ×1.25 at 3:4; outside it DARK's Newton step runs on a flat map and float rounding
    alone moves the result by pixels)."""
    b = ref['bbox']
    centre, (w, h) = (b[:, :2] + b[:, 2:]) / 2, ((b[:, 2:] - b[:, :2]) * 1.25).T
    wh = np.stack([np.maximum(w, h * 0.75), np.maximum(h, w / 0.75)], 1)
    inside = (np.abs(ref['keypoints'] - centre[:, None]) <= wh[:, None] / 2).all(-1)
    valid = (ref['scores'] > 0.3) & inside
    assert valid.sum() > 0.9 * valid.size
    err = np.linalg.norm(ours - ref['keypoints'], axis=-1)[valid]
    return (err <= 0.5).mean() * 100, err


@pytest.fixture(scope='module')
def pose_model(workdir):
    from sapiens2.apis import init_pose_model
    model = init_pose_model(small_config(workdir, 'pose'), checkpoint(workdir, 'pose'))
    assert model.test_cfg['flip_test'] is True  # the config's flip test, as the released config
    return model


def test_pose_sample_images(pose_model, images):
    from sapiens2.apis import inference_pose
    ref = np.load(osp.join(DATA, 'e2e_pose.npz'))
    kpts = [inference_pose(pose_model, images[i], ref['bbox'][ref['image'] == i])['keypoints']
            for i in range(len(images))]
    within, err = pose_agreement(np.concatenate(kpts), ref)
    assert within >= 99, f'{within:.2f}% of keypoints within 0.5 px (max {err.max():.2f} px)'


def test_pose_enlarged_image(workdir, enlarged):
    """Crops that shrink (area) and crops that enlarge (bicubic) in one image."""
    from mmpose.structures.bbox import get_udp_warp_matrix

    from sapiens2.apis import inference_pose, init_pose_model, pose_crops
    from sapiens2.datasets.transforms import auto_interpolation
    ref = np.load(osp.join(DATA, 'e2e_x3.npz'))
    # the x3 reference's pose head (the reference script fits its last layer to the first crop); the same backbone
    model = init_pose_model(small_config(workdir, 'pose'), checkpoint(workdir, 'pose', X3['pose_head']))
    metas = [c['data_samples'].metainfo for c in pose_crops(model, enlarged, ref['bbox'])]
    flags = [auto_interpolation(get_udp_warp_matrix(m['input_center'], m['input_scale'], 0., m['input_size']))
             for m in metas]
    assert set(flags) == {cv2.INTER_AREA, cv2.INTER_CUBIC}, flags
    ours = inference_pose(model, enlarged, ref['bbox'])['keypoints']
    within, err = pose_agreement(ours, ref)
    assert within >= 99, f'{within:.2f}% of keypoints within 0.5 px (max {err.max():.2f} px)'


# ------------------------------------------------------------------------------------------------------------ dense
def dense_model(workdir, task):
    from sapiens2.apis import init_dense_model
    return init_dense_model(small_config(workdir, task), checkpoint(workdir, task))


def dense_outputs(model, task, images, enlarged):
    """-> (ours, release's) for the sample images (``images``: all or none) then the x3 image (every 7th row and
    column, as stored)."""
    from sapiens2.apis import inference_dense
    names = (NAMES if images else []) + [X3['name']]
    outs = inference_dense(model, list(images) + [enlarged], names)
    key = dict(seg='labels', normal='normal', pointmap='metric_pointmap')[task]
    ours = [o[key] for o in outs[:-1]] + [outs[-1][key][::X3['stride'], ::X3['stride']]]
    ref = np.load(osp.join(DATA, f'e2e_{task}.npz'))
    x3 = np.load(osp.join(DATA, 'e2e_x3.npz'))[dict(seg='seg', normal='normal', pointmap='depth')[task]]
    refs = [ref[osp.splitext(n)[0]] for n in names[:-1]] + [x3]
    assert [o.shape[:2] for o in ours] == [r.shape[:2] for r in refs]
    return ours, refs


def test_seg(workdir, images, enlarged):
    """Stretch to 768×1024 with bicubic (sample images: enlarged) / area (the x3 image: shrunk), logits back."""
    ours, refs = dense_outputs(dense_model(workdir, 'seg'), 'seg', images, enlarged)
    agree = [(o == r).mean() * 100 for o, r in zip(ours, refs)]
    total = sum((o == r).sum() for o, r in zip(ours, refs)) / sum(r.size for r in refs) * 100
    assert total >= 99.5 and min(agree) >= 99.5, f'{total:.2f}% of pixels agree (per image {agree})'


def test_normal(workdir, images, enlarged):
    ours, refs = dense_outputs(dense_model(workdir, 'normal'), 'normal', images, enlarged)
    per = []
    for o, r in zip(ours, refs):
        a, b = o.astype(np.float64), r.astype(np.float64)
        cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
        per.append(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())
    assert max(per) <= 0.5, f'mean angle per image {per} deg'


def depth_differences(ours, refs):
    """Median |z_ours - z_release| / mean |z_release| per image, % (random depths cross 0)."""
    return [np.median(np.abs(o[..., 2] - r.astype(np.float64)) / np.abs(r.astype(np.float64)).mean()) * 100
            for o, r in zip(ours, refs)]


def test_pointmap(workdir, images, enlarged):
    """Letterbox with truncated size; the x3 pointmap (letterboxed to 768×514) is smoothed before it is enlarged
    back. Without the smoothing the x3 image is far off (so the smoothing path is what is checked there)."""
    model = dense_model(workdir, 'pointmap')
    assert model.test_cfg['upsample_smoothing'] == dict(kernel_size=3, sigma=0.8, iters=4)
    per = depth_differences(*dense_outputs(model, 'pointmap', images, enlarged))
    assert max(per) <= 0.1, f'median relative depth difference per image {per} %'
    model.test_cfg['upsample_smoothing'] = None
    assert depth_differences(*dense_outputs(model, 'pointmap', [], enlarged))[-1] > 1


# ------------------------------------------------------------------------------------------------ smaller pieces
def test_letterbox_truncates_like_the_release():
    """640×429 into 768×1024: scale 1.2, 429·1.2 = 514.8 -> 514 rows (the release's int()), not 515."""
    from sapiens2.datasets.transforms import letterbox_params
    assert letterbox_params((429, 640), (1024, 768), 'floor') == ((514, 768), (255, 255, 0, 0))
    assert letterbox_params((429, 640), (1024, 768)) == ((515, 768), (254, 255, 0, 0))


def test_pose_demo_flip_test_defaults_to_the_config(monkeypatch):
    import importlib.util
    spec = importlib.util.spec_from_file_location('pose_demo', osp.join(ROOT, 'tools', 'demo', 'pose_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    base = ['pose_demo.py', 'CONFIG', 'CKPT', '--input', 'x.jpg', '--output', 'out']
    for extra, expected in (([], None), (['--flip-test'], True), (['--no-flip-test'], False)):
        monkeypatch.setattr('sys.argv', base + extra)
        assert demo.parse_args().flip_test is expected  # None: init_pose_model keeps test_cfg.flip_test


def test_inference_does_not_import_the_pretraining_stack():
    """Building models and running the task pipelines imports no mmpretrain (ColorJitterNp2 is imported lazily)."""
    import subprocess
    import sys
    code = ("import sys, numpy as np\n"
            "from sapiens2.apis import inference_dense, init_dense_model, init_pose_model, pose_crops\n"
            "img = np.zeros((60, 80, 3), np.uint8)\n"
            "inference_dense(init_dense_model('configs/seg/sapiens2_tiny_seg29_synthetic.py'), [img])\n"
            "inference_dense(init_dense_model('configs/geometry/sapiens2_tiny_pointmap_synthetic.py'), [img])\n"
            "pose_crops(init_pose_model('configs/pose/sapiens2_tiny_308kpt_coco_wholebody_sample.py'), img)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mmpretrain'))\n"
            "from sapiens2.registry import TRANSFORMS\n"
            "from mmengine.registry import init_default_scope\n"
            "init_default_scope('sapiens2')\n"
            "print(type(TRANSFORMS.build(dict(type='ColorJitterNp2', hue=0.1))).__module__)\n")
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split('\n')[-3:-1] == ['[]', 'sapiens2.datasets.transforms.multi_view_transforms']
