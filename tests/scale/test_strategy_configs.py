"""The opt-in strategy bases: merge with the shared runtime and build the strategies they name."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sapiens2.engine.strategies import DeviceAgnosticDDPStrategy, FullyShardStrategy
from sapiens2.registry import STRATEGIES

from conftest import REPO_ROOT

BASE = osp.join(REPO_ROOT, 'configs', '_base_')


@pytest.mark.parametrize('name,cls', [('fsdp', FullyShardStrategy), ('ddp', DeviceAgnosticDDPStrategy)])
def test_strategy_base_merges_and_builds(tmp_path, name, cls):
    cfg_file = tmp_path / f'cfg_{name}.py'
    cfg_file.write_text(f"_base_ = ['{BASE}/default_runtime.py', '{BASE}/models/sapiens2_5b.py', "
                        f"'{BASE}/strategies/{name}.py']\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.runner_type == 'sapiens2.Sapiens2FlexibleRunner'
    assert cfg.backbone.arch == 'sapiens2_5b' and cfg.default_scope == 'sapiens2'
    init_default_scope('mmengine')  # FlexibleRunner builds the strategy before switching to the config's scope
    strategy = STRATEGIES.build(dict(cfg.strategy, work_dir=str(tmp_path)))
    assert type(strategy) is cls
    if name == 'fsdp':
        import torch
        assert strategy.mp_policy.param_dtype == torch.bfloat16 and strategy.mp_policy.reduce_dtype == torch.bfloat16
        assert strategy.activation_checkpointing and strategy.shard_modules == ('TransformerBlock', )


def test_fully_shard_strategy_rejects_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match='param_dtype'):
        FullyShardStrategy(param_dtype='int8', work_dir=str(tmp_path))
