"""The numpy/onnxruntime runner against the torch pipeline on the bundled images, and without torch.

The torch side runs the model's own test pipeline and post-processing (``inference_pose`` / ``inference_dense``) with
its network on the same ONNX file (``backend='onnxruntime'``), so the comparison isolates pre- and post-processing:
a change of the torch pipeline that the runner does not follow fails here."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from sapiens2.deployment.export import sample_images
from sapiens2.deployment.onnx_runtime import OnnxPredictor, udp_decode

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE = osp.join(ROOT, 'data', 'coco_wholebody_sample')


@pytest.fixture(scope='module')
def images():
    return sample_images(SAMPLE)


def test_udp_decode_equals_mmpose():
    from mmpose.codecs import UDPHeatmap
    rng = np.random.default_rng(0)
    codec = UDPHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2, blur_kernel_size=11)
    keypoints = rng.uniform([4, 4], [92, 124], (3, 308, 2)).astype(np.float32)
    heatmaps = np.stack([codec.encode(k[None], np.ones((1, 308), np.float32))['heatmaps'] for k in keypoints])
    heatmaps = heatmaps + rng.normal(0, 0.02, heatmaps.shape).astype(np.float32)
    ref = np.stack([codec.decode(h)[0][0] for h in heatmaps])
    ours, scores = udp_decode(heatmaps, (96, 128), 11)
    assert np.abs(ours - ref).max() < 1e-4
    assert np.abs(ours - keypoints).mean() < 1.5  # near the encoded keypoints (noisy maps)
    assert np.allclose(scores, heatmaps.reshape(3, 308, -1).max(-1))


def test_pose_pipeline_matches_torch(tiny_models, onnx_exports, images):
    from mmpose.codecs import UDPHeatmap

    from sapiens2.apis import inference_pose
    from sapiens2.deployment.backends import accelerate
    model = tiny_models['pose']
    torch_pipe = accelerate(model, 'onnxruntime', onnx_path=onnx_exports['pose'])
    # mmpose's per-instance decoding: random weights give ill-posed DARK steps, where the batched torch codec and
    # mmpose part (they agree to 0.0002 px on well-posed maps, tests/scale/test_batched_udp_heatmap.py)
    c = model.codec
    torch_pipe.codec = UDPHeatmap(input_size=c.input_size, heatmap_size=c.heatmap_size, sigma=c.sigma,
                                  blur_kernel_size=c.blur_kernel_size)
    runner = OnnxPredictor(onnx_exports['pose'])
    assert runner.spec['flip_test'] is True
    n = 0
    for name, img, boxes in images:
        for b in (boxes, None):  # GT boxes, and the whole-image box
            ref = inference_pose(torch_pipe, img, b)
            out = runner.predict_pose(img, b)
            np.testing.assert_allclose(out['bboxes'], ref['bboxes'])
            assert np.abs(out['keypoints'] - ref['keypoints']).max() <= 0.01, name
            assert np.abs(out['keypoint_scores'] - ref['keypoint_scores']).max() <= 1e-5, name
            n += len(ref['keypoints'])
    assert n == 16  # 12 people with keypoints, and the 4 whole images


@pytest.mark.parametrize('task', ['seg', 'normal', 'pointmap', 'albedo'])
def test_dense_pipeline_matches_torch(tiny_models, onnx_exports, images, task):
    from sapiens2.apis import inference_dense
    from sapiens2.deployment.backends import accelerate
    torch_pipe = accelerate(tiny_models[task], 'onnxruntime', onnx_path=onnx_exports[task])
    imgs = [img for _, img, _ in images]
    ref = inference_dense(torch_pipe, imgs, batch_size=4)
    out = OnnxPredictor(onnx_exports[task]).predict_dense(imgs)
    for r, o, img in zip(ref, out, imgs):
        if task == 'seg':
            assert o['labels'].shape == img.shape[:2]
            assert (o['labels'] == r['labels']).mean() >= 0.999
        elif task == 'normal':
            cos = np.clip((o['normal'] * r['normal']).sum(-1), -1, 1)
            assert np.degrees(np.arccos(cos)).max() < 0.1
        elif task == 'pointmap':  # enlarged back to 640 px: the smoothing path runs
            scale = np.abs(r['pointmap']).max()
            assert np.abs(o['pointmap'] - r['pointmap']).max() <= 1e-4 * scale
            assert abs(o['scale'] - r['scale']) <= 1e-5 * abs(r['scale'])
        else:
            assert np.abs(o['albedo'] - r['albedo']).max() <= 1e-4


BLOCK_TORCH = '''
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'mmengine', 'mmcv', 'mmpose', 'torchvision'):
            raise ImportError('onnx_infer imported ' + name)
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
assert not any(m.split('.')[0] == 'torch' for m in sys.modules)
'''


def test_onnx_infer_without_torch(onnx_exports, images, tmp_path):
    """tools/deployment/onnx_infer.py in a process where importing torch / MMEngine fails: the demo's JSON and
    pictures, equal to the runner's predictions."""
    tool = osp.join(ROOT, 'tools', 'deployment', 'onnx_infer.py')
    boxes = osp.join(SAMPLE, 'test_coco_wholebody.json')
    env = dict(os.environ, PYTHONPATH='')
    for task, extra in (('pose', ['--bboxes', boxes]), ('seg', ['--save-pred'])):
        out = tmp_path / task
        cmd = [sys.executable, '-c', BLOCK_TORCH, tool, onnx_exports[task], '--input', SAMPLE, '--output', str(out),
               '--threads', '2'] + extra
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert sorted(f for f in os.listdir(out) if f.endswith('.png')) == sorted(
            osp.splitext(n)[0] + '.png' for n, _, _ in images)
    runner = OnnxPredictor(onnx_exports['pose'], threads=2)  # as the tool: same onnxruntime reductions
    name, img, _ = images[1]
    with open(tmp_path / 'pose' / (osp.splitext(name)[0] + '.json')) as f:
        people = json.load(f)['people']
    with open(boxes) as f:
        coco = json.load(f)
    image_id = next(im['id'] for im in coco['images'] if im['file_name'] == name)
    xywh = np.array([a['bbox'] for a in coco['annotations'] if a['image_id'] == image_id])  # float64, as the tool
    result = runner.predict_pose(img, np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1).astype(np.float32))
    assert len(people) == len(result['keypoints']) == len(xywh)
    kpts = np.array([[[k['x'], k['y']] for k in p['keypoints']] for p in people])
    assert people[0]['keypoints'][0]['name'] == 'nose' and kpts.shape[1] == 308
    np.testing.assert_allclose(kpts, result['keypoints'], atol=1e-4)
    assert (tmp_path / 'seg' / (osp.splitext(name)[0] + '.npy')).exists()
