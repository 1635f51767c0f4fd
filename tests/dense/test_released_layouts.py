"""Every dense size config builds exactly the released state-dict layout (on the meta device)."""
import json
import os.path as osp

import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope

from conftest import METAINFO, REPO_ROOT

CASES = [(task, size) for task in ('seg', 'normal', 'pointmap', 'albedo') for size in ('0.4b', '0.8b', '1b', '5b')]


def config_path(task: str, size: str) -> str:
    if task == 'seg':
        return osp.join(REPO_ROOT, 'configs', 'seg', f'sapiens2_{size}_seg29.py')
    return osp.join(REPO_ROOT, 'configs', 'geometry', f'sapiens2_{size}_{task}.py')


@pytest.fixture(scope='module')
def layouts():
    with open(osp.join(METAINFO, 'released_state_dict_layouts.json')) as f:
        return json.load(f)


@pytest.mark.parametrize('task,size', CASES, ids=[f'{t}-{s}' for t, s in CASES])
def test_config_builds_released_layout(task, size, layouts):
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    cfg = Config.fromfile(config_path(task, size))
    init_default_scope('sapiens2')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    expected = layouts[f'{task}/{size}']
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = {k: (got[k], expected[k]) for k in set(got) & set(expected) if got[k] != expected[k]}
    assert not missing and not unexpected and not wrong, (
        f'{task}/{size}: missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shapes {list(wrong.items())[:5]}')
    assert cfg.model.backbone.init_cfg.checkpoint.endswith(f'pretrain/sapiens2_{size}_pretrain.safetensors')


@pytest.mark.parametrize('size,rate', [('0.4b', 0.80), ('0.8b', 0.85), ('1b', 0.90), ('5b', 0.94)])
def test_size_recipes(size, rate):
    for task in ('seg', 'normal', 'pointmap', 'albedo'):
        cfg = Config.fromfile(config_path(task, size))
        lr = 1e-4 if (size == '5b' and task in ('normal', 'pointmap')) else 5e-4
        assert cfg.optim_wrapper.optimizer.lr == lr, (task, size)
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.1
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == rate
        assert cfg.param_scheduler[0].end == 500 and cfg.param_scheduler[1].type == 'PolyLR'
        assert cfg.default_scope == 'sapiens2'


@pytest.mark.parametrize('task,size', [('seg', '1b'), ('normal', '0.4b'), ('pointmap', '5b'), ('albedo', '0.8b')])
def test_released_model_maps_1024x768_to_full_resolution(task, size):
    """On the meta device (shapes only): 1024×768 in -> 16× upsampled dense output (+ the pointmap scale [B, 1],
    whose MLP input 6144 = 128 · 8·6 needs exactly the 64×48 featmap)."""
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    init_default_scope('sapiens2')
    with torch.device('meta'):
        model = MODELS.build(Config.fromfile(config_path(task, size)).model).eval()
        out = model(torch.empty(2, 3, 1024, 768), mode='tensor')
    outs = out if isinstance(out, tuple) else (out, )
    channels = 29 if task == 'seg' else 3
    assert tuple(outs[0].shape) == (2, channels, 1024, 768)
    if task == 'pointmap':
        assert tuple(outs[1].shape) == (2, 1)
