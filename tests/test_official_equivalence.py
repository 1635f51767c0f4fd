"""The modules against the released code's outputs (tests/data/official_equivalence, see its README.md).

Each fixture holds a released-layout state_dict (``sd.*``), an ``input`` and the release's eval-mode outputs
(``out.<i>``). The module is built through the registry, loaded strictly and must match with
mean |diff| <= 3e-5 * scale and max |diff| <= 2e-3 * scale, scale = max(1, max |reference|).
"""
import json
import os.path as osp

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from conftest import FIXTURES, require_file
from sapiens2.registry import MODELS

MEAN_TOL, MAX_TOL = 3e-5, 2e-3
EXPECTED = ('bb_raw_128x96', 'bb_tok4k_512x384', 'head_albedo', 'head_normal', 'head_pointmap', 'head_pose',
            'head_seg')


def build_fixture_module(meta: dict):
    import sapiens2.models  # noqa: F401  (registers the modules)
    if 'arch' in meta:
        return MODELS.build(dict(type='Sapiens2', arch=json.loads(meta['arch']), patch_size=16,
                                 **json.loads(meta['kwargs'])))
    return MODELS.build(dict(type=meta['type'], **json.loads(meta['kwargs'])))


@pytest.mark.parametrize('name', EXPECTED)
def test_matches_released_network(name):
    path = require_file(osp.join(FIXTURES, f'{name}.safetensors'))
    with safe_open(path, 'pt') as f:
        meta = f.metadata()
    data = load_file(path)
    model = build_fixture_module(meta)
    model.load_state_dict({k[3:]: v for k, v in data.items() if k.startswith('sd.')}, strict=True)
    model.eval()
    with torch.no_grad():
        outs = model(data['input'])
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    refs = [data[f'out.{i}'] for i in range(sum(k.startswith('out.') for k in data))]
    assert len(outs) == len(refs), f'{name}: {len(outs)} outputs, the release gives {len(refs)}'
    for i, (out, ref) in enumerate(zip(outs, refs)):
        assert out.shape == ref.shape, f'{name} output {i}: shape {tuple(out.shape)}, release {tuple(ref.shape)}'
        assert torch.isfinite(out).all(), f'{name} output {i}: non-finite values'
        scale = max(1.0, ref.abs().max().item())
        diff = (out.float() - ref.float()).abs() / scale
        assert diff.mean() <= MEAN_TOL and diff.max() <= MAX_TOL, \
            f'{name} output {i}: mean |diff| {diff.mean():.2e} (<= {MEAN_TOL}), max {diff.max():.2e} (<= {MAX_TOL})'
