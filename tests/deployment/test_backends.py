"""The backend switch of the inference API (eager / compile / onnxruntime, int8) on the bundled images."""
import numpy as np
import pytest

from sapiens2.deployment.export import sample_images


@pytest.fixture(scope='module')
def imgs():
    return [img for _, img, _ in sample_images()][:2]


def test_compile_backend_equals_eager(tiny_models, imgs):
    from sapiens2.apis import inference_dense
    from sapiens2.apis.inference import accelerate_model
    model = tiny_models['normal']
    fast = accelerate_model(model, 'compile', compile_backend='eager')  # dynamo capture, eager kernels: quick
    assert fast is not model and model.backbone is not fast.backbone
    ref = inference_dense(model, imgs, dtype='fp32')
    out = inference_dense(fast, imgs, dtype='fp32')
    for r, o in zip(ref, out):
        np.testing.assert_allclose(o['normal'], r['normal'], atol=1e-5)
    assert type(model.backbone).__name__ == 'Sapiens2'  # the eager model is unchanged


def test_int8_paths_quantize_and_stay_close(tiny_models, onnx_exports, imgs, tmp_path):
    """torch.ao and onnxruntime dynamic int8: the linear layers are quantized, the segmentation mostly agrees."""
    import shutil

    import onnx

    from sapiens2.apis import inference_dense
    from sapiens2.apis.inference import accelerate_model
    model = tiny_models['seg']
    ref = inference_dense(model, imgs, dtype='fp32')
    q_torch = accelerate_model(model, 'eager', quantize='int8')
    assert any('quantized' in type(m).__module__ for m in q_torch.decode_head.modules())
    onnx_path = str(tmp_path / 'seg.onnx')
    shutil.copy(onnx_exports['seg'], onnx_path)
    q_ort = accelerate_model(model, 'onnxruntime', quantize='int8', onnx_path=onnx_path)
    ops = {n.op_type for n in onnx.load(onnx_path[:-5] + '.int8.onnx').graph.node}
    assert 'MatMulInteger' in ops or 'DynamicQuantizeMatMul' in ops or 'DynamicQuantizeLinear' in ops, ops
    for fast in (q_torch, q_ort):
        out = inference_dense(fast, imgs, dtype='fp32')
        agree = np.mean([(o['labels'] == r['labels']).mean() for o, r in zip(out, ref)])
        assert agree > 0.9, agree


def test_refusals(tiny_models):
    from sapiens2.apis.inference import accelerate_model
    with pytest.raises(ValueError, match='fp32'):
        accelerate_model(tiny_models['seg'], 'onnxruntime', dtype='bf16')
    with pytest.raises(ValueError, match='backend'):
        accelerate_model(tiny_models['seg'], 'tensorrt')
    assert accelerate_model(tiny_models['seg'], 'eager') is tiny_models['seg']


def test_benchmark_rows(tiny_models):
    """benchmark.py --backends' rows: eager fp32 is the reference (ratio 1, difference 0), bf16 and int8 report
    their differences."""
    from sapiens2.deployment.bench import bench_backends, format_rows
    rows = bench_backends(tiny_models['pose'], (128, 96), ['eager', 'int8-torch'], ['fp32', 'bf16'], iters=1,
                          log=lambda *a: None)
    by = {(r['backend'], r['dtype']): r for r in rows}
    assert set(by) == {('eager', 'fp32'), ('eager', 'bf16'), ('int8-torch', 'int8')} and len(rows) == 4
    eager = [r for r in rows if r['backend'] == 'eager' and r['dtype'] == 'fp32']
    assert max(r['ratio'] for r in eager) == 1.0 and all(r['max_rel_diff'] == 0.0 for r in eager)
    assert 0 < by['eager', 'bf16']['max_rel_diff'] < 0.2 and 0 < by['int8-torch', 'int8']['max_rel_diff'] < 0.2
    assert all(r['img_per_s'] > 0 for r in rows)
    assert '| eager fp32 |' in format_rows('tiny', rows)
