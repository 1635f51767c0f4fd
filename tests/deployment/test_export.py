"""Every export format for every task (tiny models, CPU), verified against the eager model on the bundled images."""
import os.path as osp

import numpy as np
import pytest
import torch

from deploy_helpers import TASKS
from sapiens2.deployment.export import (EXTENSIONS, FORMATS, export_model, format_report, load_exported,
                                        real_inputs, verify_export)


@pytest.fixture(scope='module')
def models(tiny_models):
    return tiny_models


@pytest.mark.parametrize('task', TASKS)
@pytest.mark.parametrize('fmt', FORMATS)
def test_export_and_verify(models, onnx_exports, task, fmt, tmp_path):
    """fp32 parity on real images: max |diff| <= 1e-4 x output scale; the task-level outputs agree; a dynamic batch
    runs at another batch size than the example's; the spec travels with the file."""
    model = models[task]
    if fmt == 'onnx':  # exported once for the session (the runner tests use the same files)
        path = onnx_exports[task]
        spec = load_exported(path).spec
    else:
        path = str(tmp_path / f'{task}{EXTENSIONS[fmt]}')
        spec = export_model(model, fmt, path, dynamic_batch=True)
    assert spec['task'] == task and osp.getsize(path) > 0
    images = real_inputs(model, tuple(spec['input_shape']), max_inputs=3)
    assert images.shape[0] == 3 and images.abs().max() > 1  # real, normalised pixels (batch 3 != export's 2)
    report = verify_export(model, path, images)
    print(format_report(report))
    for name, r in report['raw'].items():
        assert r['max_rel_to_scale'] <= 1e-4, (name, r)
    level = report['task_level']
    if task == 'seg':
        assert level['pixel_agreement'] >= 0.999
    elif task == 'normal':
        assert level['angle_deg_mean'] < 0.01
    elif task == 'pointmap':
        assert level['pointmap_max_rel'] < 1e-4 and level['scale_max_rel'] < 1e-4
    elif task == 'albedo':
        assert level['albedo_max_abs'] < 1e-4
    elif task == 'backbone':
        assert level['feature_cosine_min'] > 0.99999
    else:  # random weights give flat heatmaps, so some argmaxes are ties: most keypoints must agree exactly
        assert level['keypoint_px_mean'] < 2.0
    assert load_exported(path).spec == spec


def test_rope_emulation_is_the_eager_bf16_arithmetic(models):
    """The ONNX graph keeps the released bf16 RoPE through fp32 ops + rounding: the deploy net in its ONNX form
    equals the eager model to float32 rounding, and an fp32 RoPE (no rounding) would not."""
    from sapiens2.deployment.export import deploy_net
    model = models['pose']
    x = real_inputs(model, (128, 96), max_inputs=2)
    with torch.no_grad():
        ref = model.decode_head(model.extract_feat(x))
        emulated = deploy_net(model, (128, 96), onnx=True)(x)
        plain = deploy_net(model, (128, 96))
        plain.backbone.rope_embed.sin, plain.backbone.rope_embed.cos = (
            plain.backbone.rope_embed.sin.float(), plain.backbone.rope_embed.cos.float())
        for m in plain.modules():
            m.rope_emulate_dtype = None
        no_rounding = plain(x)
    scale = ref.abs().max()
    assert (emulated - ref).abs().max() <= 1e-5 * scale
    assert (no_rounding - ref).abs().mean() > 10 * (emulated - ref).abs().mean()


def test_onnx_bf16_is_refused_and_bf16_torchscript_runs(models, tmp_path):
    model = models['seg']
    with pytest.raises(ValueError, match='bf16'):
        export_model(model, 'onnx', str(tmp_path / 'x.onnx'), dtype='bf16')
    path = str(tmp_path / 'seg_bf16.ts.pt')
    export_model(model, 'torchscript', path, dtype='bf16', batch=2)
    x = real_inputs(model, (128, 96), max_inputs=2)
    out = load_exported(path)(x)[0]
    assert out.dtype == np.float32
    ref = model.decode_head(model.extract_feat(x)).detach().numpy()
    assert (out.argmax(1) == ref.argmax(1)).mean() > 0.9  # bf16 weights: close, not equal
