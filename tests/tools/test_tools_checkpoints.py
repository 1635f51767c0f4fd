"""Checkpoint loading (strict load_from with a mismatch report, safetensors, MMEngine .pth on torch >= 2.6), the
bf16 autocast optim wrapper, and the tools/convert round trip."""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from safetensors.torch import load_file, save_file
from tools_test_helpers import TINY_CONFIG, run_tool

import sapiens2.engine  # noqa: F401  (registers the local checkpoint loader)
from sapiens2.engine import AutocastOptimWrapper, Sapiens2Runner
from sapiens2.registry import MODELS
from sapiens2.utils.checkpoint import CheckpointMismatchError


def tiny_cfg(work_dir, **options):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


def build_model():
    init_default_scope('sapiens2')
    return MODELS.build(Config.fromfile(TINY_CONFIG).model)


@pytest.fixture(scope='module')
def mmengine_ckpt(tmp_path_factory):
    """An MMEngine checkpoint as the runner writes it (message hub with HistoryBuffers, numpy RNG state)."""
    work_dir = tmp_path_factory.mktemp('ckpt')
    runner = Sapiens2Runner.from_cfg(tiny_cfg(work_dir, train_cfg=dict(max_iters=1)))
    runner.train()
    return osp.join(work_dir, 'iter_1.pth'), runner.model.state_dict()


def test_mmengine_load_checkpoint_reads_our_pth_and_safetensors(mmengine_ckpt, tmp_path):
    from mmengine.runner import load_checkpoint
    path, trained = mmengine_ckpt
    with pytest.raises(Exception):  # plain torch.load (weights_only=True) refuses MMEngine's own checkpoints
        torch.load(path, map_location='cpu')
    model = build_model()
    ckpt = load_checkpoint(model, path, map_location='cpu', strict=True)
    assert 'message_hub' in ckpt
    for k, v in trained.items():
        assert torch.equal(model.state_dict()[k], v), k
    st = str(tmp_path / 'model.safetensors')
    save_file({k: v.contiguous() for k, v in trained.items()}, st)
    model = build_model()
    load_checkpoint(model, st, map_location='cpu', strict=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())


def test_load_from_safetensors_in_released_layout(mmengine_ckpt, tmp_path):
    _, trained = mmengine_ckpt
    st = str(tmp_path / 'task.safetensors')
    save_file({k: v.contiguous() for k, v in trained.items()}, st)
    assert all(k.startswith(('backbone.', 'decode_head.')) for k in load_file(st))
    runner = Sapiens2Runner.from_cfg(tiny_cfg(tmp_path, load_from=st))
    runner.load_or_resume()
    for k, v in trained.items():
        assert torch.equal(runner.model.state_dict()[k], v), k


def mismatched(state_dict):
    sd = OrderedDict(state_dict)
    sd.pop('decode_head.conv_out.bias')
    sd['decode_head.extra.weight'] = torch.zeros(3)
    sd['backbone.cls_token'] = torch.zeros(1, 1, 16)
    return sd


def test_strict_load_from_reports_every_mismatch(mmengine_ckpt, tmp_path):
    _, trained = mmengine_ckpt
    st = str(tmp_path / 'bad.safetensors')
    save_file({k: v.contiguous() for k, v in mismatched(trained).items()}, st)
    runner = Sapiens2Runner.from_cfg(tiny_cfg(tmp_path, load_from=st))
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_or_resume()
    msg = str(err.value)
    assert st in msg
    assert '1 missing key(s): decode_head.conv_out.bias' in msg
    assert '1 unexpected key(s): decode_head.extra.weight' in msg
    assert 'shape mismatch backbone.cls_token: checkpoint [1, 1, 16] vs model [1, 1, 32]' in msg


def test_non_strict_load_from_loads_the_matching_keys(mmengine_ckpt, tmp_path):
    _, trained = mmengine_ckpt
    st = str(tmp_path / 'bad.safetensors')
    save_file({k: v.contiguous() for k, v in mismatched(trained).items()}, st)
    runner = Sapiens2Runner.from_cfg(tiny_cfg(tmp_path, load_from=st, load_from_strict=False))
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.load_or_resume()
    after = runner.model.state_dict()
    assert torch.equal(after['decode_head.conv_out.weight'], trained['decode_head.conv_out.weight'])
    assert torch.equal(after['backbone.cls_token'], before['backbone.cls_token'])  # shape mismatch: kept
    assert torch.equal(after['decode_head.conv_out.bias'], before['decode_head.conv_out.bias'])  # missing: kept


def test_convert_round_trip(mmengine_ckpt, tmp_path):
    path, trained = mmengine_ckpt
    st, back = str(tmp_path / 'released.safetensors'), str(tmp_path / 'back.pth')
    run_tool(['tools/convert/mmengine_to_safetensors.py', path, st])
    released = load_file(st)
    assert set(released) == set(trained)  # backbone.* + decode_head.*, no optimizer / message hub
    run_tool(['tools/convert/safetensors_to_mmengine.py', st, back])
    restored = torch.load(back, map_location='cpu', weights_only=False)['state_dict']
    assert list(restored) == list(released)
    for k, v in trained.items():
        assert torch.equal(released[k], v) and torch.equal(restored[k], v), k
    # bf16 export
    run_tool(['tools/convert/mmengine_to_safetensors.py', path, st, '--dtype', 'bf16'])
    assert all(v.dtype == torch.bfloat16 for v in load_file(st).values())


def test_convert_backbone_prefixes(mmengine_ckpt, tmp_path):
    """--src-prefix exports a backbone-only file that the backbone's Pretrained init_cfg loads strictly;
    --dst-prefix puts it back under backbone.*"""
    path, trained = mmengine_ckpt
    bb = str(tmp_path / 'backbone.safetensors')
    run_tool(['tools/convert/mmengine_to_safetensors.py', path, bb, '--src-prefix', 'backbone.'])
    cfg = Config.fromfile(TINY_CONFIG).model.backbone
    init_default_scope('sapiens2')
    backbone = MODELS.build(dict(cfg, init_cfg=dict(type='Pretrained', checkpoint=bb)))
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, trained['backbone.' + k]), k
    task = str(tmp_path / 'task.pth')
    run_tool(['tools/convert/safetensors_to_mmengine.py', bb, task, '--dst-prefix', 'backbone.'])
    keys = set(torch.load(task, map_location='cpu', weights_only=False)['state_dict'])
    assert keys == {k for k in trained if k.startswith('backbone.')}
    proc = run_tool(['tools/convert/mmengine_to_safetensors.py', path, bb, '--src-prefix', 'teacher.backbone.'],
                    check=False)
    assert proc.returncode != 0 and "no key starts with 'teacher.backbone.'" in proc.stderr


def test_autocast_optim_wrapper_runs_bf16_on_cpu():
    layer = torch.nn.Linear(4, 4)
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(layer.parameters(), lr=0.1))
    with wrapper.optim_context(layer):
        out = layer(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    assert layer.weight.dtype == torch.float32 and layer.weight.grad is None  # stepped and zeroed
    assert layer(torch.randn(2, 4)).dtype == torch.float32  # no autocast outside the context


def test_local_loader_wraps_a_bare_state_dict(tmp_path):
    """A plain ``torch.save(model.state_dict())`` file reaches runners and strategies as ``{'state_dict': ...}``."""
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    import sapiens2.engine  # noqa: F401  (registers the loader)
    path = tmp_path / 'bare.pth'
    state = {'w': torch.arange(3.0)}
    torch.save(state, path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert set(loaded) == {'state_dict'} and torch.equal(loaded['state_dict']['w'], state['w'])
