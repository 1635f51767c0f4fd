"""Issue #12 item 2 (and the `checkpoint.intervel` case of item 10): misspelled config keys are refused with the
closest valid name instead of being accepted and ignored."""
import glob
import os.path as osp

import pytest
import torch
from mmengine import Config

import reliability_helpers as rh
from sapiens2.utils.config_check import (UnknownConfigKeyError, check_cfg_options, check_config,
                                         looks_like_typo, runner_keys)

CONFIGS = sorted(p for p in glob.glob(osp.join(rh.REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep)) + [rh.TINY_CONFIG]


def test_no_repository_config_is_refused():
    """Helper variables (image_size, codec, tiny_optim_wrapper, probe_param_scheduler, ...) pass."""
    for path in CONFIGS:
        check_config(Config.fromfile(path), path)


@pytest.mark.parametrize('typo, meant', [('optim_wraper', 'optim_wrapper'), ('param_schedulers', 'param_scheduler'),
                                         ('default_hook', 'default_hooks'), ('load_form', 'load_from'),
                                         ('train_dataloder', 'train_dataloader'), ('envcfg', 'env_cfg')])
def test_misspelled_top_level_key_is_refused(typo, meant, tmp_path):
    cfg = Config.fromfile(rh.write_config(tmp_path / 'cfg.py', f'{typo} = dict(type="X")'))
    with pytest.raises(UnknownConfigKeyError, match=f"top-level key '{typo}' .*did you mean '{meant}'"):
        check_config(cfg, 'cfg.py')


def test_far_helper_names_pass():
    for name in ('tiny_optim_wrapper', 'probe_param_scheduler', 'image_size', 'codec', 'data_root', 'embed_dims'):
        assert looks_like_typo(name, runner_keys()) is None, name


def test_env_cfg_typo_is_refused():
    with pytest.raises(UnknownConfigKeyError, match="env_cfg: unknown key 'dist_cgf' .*did you mean 'dist_cfg'"):
        check_config(dict(env_cfg=dict(dist_cgf=dict(timeout=30))))


def test_cfg_options_that_match_nothing_are_refused():
    cfg = Config.fromfile(rh.TINY_CONFIG)
    check_cfg_options(cfg, {'train_cfg.max_iters': 3, 'optim_wrapper.optimizer.lr': 1e-4,
                            'model.backbone.with_cp': True, 'default_hooks.checkpoint.interval': 1})
    for option, meant in (('train_cfg.max_iter', 'train_cfg.max_iters'),
                          ('optim_wraper.optimizer.lr', 'optim_wrapper'),
                          ('default_hooks.checkpoint.intervel', 'default_hooks.checkpoint.interval')):
        with pytest.raises(UnknownConfigKeyError, match=f"did you mean '{meant}'"):
            check_cfg_options(cfg, {option: 1})


def test_tools_train_refuses_a_cfg_option_typo(tmp_path):
    res = rh.train(rh.TINY_CONFIG, tmp_path / 'w', '--cfg-options', 'train_cfg.max_iter=3', timeout=120)
    assert res.returncode != 0
    assert "--cfg-options train_cfg.max_iter: 'train_cfg.max_iter' matches nothing in the config (did you mean " \
           "'train_cfg.max_iters'?)" in res.stderr


def test_model_test_cfg_typo_is_refused():
    """Before: `test_cfg=dict(flip_tset=False)` was accepted and the flip test silently stayed on."""
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    cfg = Config.fromfile(osp.join(rh.REPO, 'configs', 'pose', 'sapiens2_tiny_308kpt_coco_wholebody_sample.py'))
    cfg.model.test_cfg = dict(flip_tset=False)
    with torch.device('meta'), pytest.raises(UnknownConfigKeyError,
                                             match="test_cfg: unknown key 'flip_tset' .*did you mean 'flip_test'"):
        MODELS.build(cfg.model)


def test_checkpoint_hook_and_strategy_typos_are_refused():
    """Before: `checkpoint=dict(intervel=...)` was accepted and crashed at the first save."""
    from sapiens2.registry import HOOKS, STRATEGIES
    with pytest.raises(UnknownConfigKeyError, match="'intervel' .*did you mean 'interval'"):
        HOOKS.build(dict(type='SafeCheckpointHook', intervel=5))
    with pytest.raises(UnknownConfigKeyError, match="'model_wraper' .*did you mean 'model_wrapper'"):
        STRATEGIES.build(dict(type='FullyShardStrategy', model_wraper=dict()))
