"""Checkpoints from the Hugging Face Hub, offline: ids resolve through huggingface_hub's cache (a temporary
HF_HUB_CACHE laid out as huggingface_hub writes it), every checkpoint entry point accepts them, the config is picked
from the repo, and a repo that is not cached fails with an error that says what to do."""
import json
import os.path as osp

import pytest
import torch
from hub_helpers import COMMIT, add_to_cache, build_random, load_to_hf, model_outputs, tiny_config
from safetensors.torch import load_file, save_file

from sapiens2.utils.checkpoint import load_pretrained, read_state_dict
from sapiens2.utils.hub import (HubCheckpointError, HubRef, config_for_checkpoint, config_name_from_hf_config,
                                load_model_config, parse_hub_ref, resolve_checkpoint)
from sapiens2.utils.package_files import get_config

REPO = 'test-org/tiny-pose'


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline (huggingface.co is never contacted)."""
    cache = tmp_path / 'hf_cache'
    cache.mkdir()
    monkeypatch.setenv('HF_HUB_CACHE', str(cache))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    return str(cache)


@pytest.fixture(scope='module')
def tiny_pose_repo(tmp_path_factory):
    """A tiny pose model (2 blocks, random weights) exported by tools/convert/to_hf.py: (folder, model)."""
    tmp = tmp_path_factory.mktemp('tiny_pose')
    cfg = tiny_config('pose', gqa=False)
    model = build_random(cfg)
    ckpt = str(tmp / 'trained.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    cfg_file = str(tmp / 'tiny_pose_cfg.py')
    cfg.dump(cfg_file)
    folder = str(tmp / 'repo')
    load_to_hf().main([cfg_file, ckpt, folder])
    return folder, model


def test_parse_hub_ref(tmp_path, monkeypatch):
    assert parse_hub_ref('hf://facebook/sapiens2-pose-1b') == HubRef('facebook/sapiens2-pose-1b')
    assert parse_hub_ref('facebook/sapiens2-pose-1b') == HubRef('facebook/sapiens2-pose-1b')
    assert parse_hub_ref('hf://a/b@v1.0/sub/x.safetensors') == HubRef('a/b', 'v1.0', 'sub/x.safetensors')
    assert parse_hub_ref('a/b@' + COMMIT) == HubRef('a/b', COMMIT)
    assert str(HubRef('a/b', 'v1', 'x.safetensors')) == 'hf://a/b@v1/x.safetensors'
    for local in ('work_dirs/iter_10.pth', 'ckpts/model.safetensors', '/abs/path', './a/b', '~/a', 'a/b/c',
                  '../x/y', 'model.safetensors', 'https://example.com/a.pth'):
        assert parse_hub_ref(local) is None, local
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'owner').mkdir()
    (tmp_path / 'owner' / 'name').mkdir()
    assert parse_hub_ref('owner/name') is None  # an existing local path wins
    with pytest.raises(ValueError, match='dataset repo'):
        parse_hub_ref('hf://datasets/a/b')
    with pytest.raises(ValueError, match='not a Hub checkpoint id'):
        parse_hub_ref('hf://just-a-name')


def test_every_checkpoint_entry_point_reads_a_cached_hub_repo(hf_cache, tiny_pose_repo):
    import sapiens2.engine  # noqa: F401  (registers the loader for '' and hf://)
    from mmengine.runner.checkpoint import _load_checkpoint
    folder, model = tiny_pose_repo
    snapshot = add_to_cache(hf_cache, REPO, folder)
    expected = load_file(osp.join(folder, 'model.safetensors'))
    for ckpt in (f'hf://{REPO}', REPO, f'hf://{REPO}@{COMMIT}', f'hf://{REPO}/model.safetensors'):
        assert resolve_checkpoint(ckpt) == osp.join(snapshot, 'model.safetensors')
        for source in (read_state_dict(ckpt), _load_checkpoint(ckpt)['state_dict']):
            assert source.keys() == expected.keys()
            assert all(torch.equal(source[k], v) for k, v in expected.items())
    fresh = build_random(tiny_config('pose', gqa=False), seed=1)
    load_pretrained(fresh, f'hf://{REPO}')
    load_pretrained(fresh.backbone, f'hf://{REPO}', prefix='backbone.')
    x = torch.randn(1, 3, 128, 96)
    assert torch.equal(model_outputs(fresh, x), model_outputs(model, x))


def test_init_pose_model_without_config_from_a_hub_id_and_a_hub_like_folder(hf_cache, tiny_pose_repo):
    from sapiens2.apis import init_dense_model, init_pose_model
    folder, model = tiny_pose_repo
    add_to_cache(hf_cache, REPO, folder)
    x = torch.randn(2, 3, 128, 96)
    for ckpt in (f'hf://{REPO}', folder):
        loaded = init_pose_model(None, ckpt, flip_test=False)
        assert loaded.cfg.model.backbone.arch == model.backbone.arch_settings
        assert torch.equal(model_outputs(loaded, x), model_outputs(model, x))
        assert len(loaded.dataset_meta['keypoint_id2name']) == 308
    with pytest.raises(ValueError, match='a config is needed unless the checkpoint is a Hugging Face Hub id'):
        init_dense_model(None, osp.join(folder, 'model.safetensors'))
    assert load_model_config('seg/sapiens2_1b_seg29', f'hf://{REPO}') == 'seg/sapiens2_1b_seg29'  # given: kept


def test_not_cached_while_offline_names_the_repo_and_the_fix(hf_cache):
    for ckpt in ('hf://facebook/sapiens2-pose-1b', 'facebook/sapiens2-pose-1b'):
        with pytest.raises(HubCheckpointError) as err:
            read_state_dict(ckpt)
        msg = str(err.value)
        assert 'facebook/sapiens2-pose-1b' in msg and hf_cache in msg
        assert 'HF_HUB_OFFLINE' in msg and 'hf download facebook/sapiens2-pose-1b' in msg
        assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(HubCheckpointError, match='HF_HUB_OFFLINE'):
        config_for_checkpoint('hf://facebook/sapiens2-pose-1b')


def test_weights_file_choice(hf_cache, tmp_path):
    tensors = dict(w=torch.arange(6.).reshape(2, 3))
    one = str(tmp_path / 'one.safetensors')
    save_file(tensors, one)
    add_to_cache(hf_cache, 'o/released-name', files={'sapiens2_1b_pose.safetensors': one, 'config.json': one})
    assert torch.equal(read_state_dict('o/released-name')['w'], tensors['w'])  # the only safetensors file
    add_to_cache(hf_cache, 'o/two', files={'a.safetensors': one, 'b.safetensors': one})
    with pytest.raises(HubCheckpointError,
                       match=r'several weights files \(a.safetensors, b.safetensors\).*hf://o/two/'):
        read_state_dict('hf://o/two')
    assert torch.equal(read_state_dict('hf://o/two/b.safetensors')['w'], tensors['w'])
    pth = str(tmp_path / 'x.pth')
    torch.save(tensors, pth)
    add_to_cache(hf_cache, 'o/pickled', files={'model.pth': pth})
    with pytest.raises(HubCheckpointError, match='no \\*.safetensors weights file'):
        read_state_dict('hf://o/pickled')
    with pytest.raises(HubCheckpointError, match='unpickled'):
        read_state_dict('hf://o/pickled/model.pth')
    with pytest.raises(HubCheckpointError, match='o/two'):
        read_state_dict('hf://o/two@v9')  # a revision that is not cached


def test_sharded_safetensors(hf_cache, tmp_path):
    parts = {'model-00001-of-00002.safetensors': dict(a=torch.ones(2)),
             'model-00002-of-00002.safetensors': dict(b=torch.zeros(3), c=torch.full((1, ), 7.))}
    files = {}
    for name, tensors in parts.items():
        save_file(tensors, str(tmp_path / name))
        files[name] = str(tmp_path / name)
    index = tmp_path / 'model.safetensors.index.json'
    index.write_text(json.dumps(dict(metadata={}, weight_map={k: n for n, t in parts.items() for k in t})))
    files['model.safetensors.index.json'] = str(index)
    add_to_cache(hf_cache, 'o/sharded', files=files)
    state = read_state_dict('hf://o/sharded')
    assert list(state) == ['a', 'b', 'c'] and torch.equal(state['c'], torch.full((1, ), 7.))


OFFICIAL = [  # transformers config.json of the official repos -> bundled config
    ('Sapiens2Model', 768, 12, 12, '_base_/models/sapiens2_0.1b'),
    ('Sapiens2Model', 2432, 56, 32, '_base_/models/sapiens2_5b'),
    ('Sapiens2ForPoseEstimation', 1024, 24, 16, 'pose/sapiens2_0.4b_308kpt'),
    ('Sapiens2ForPoseEstimation', 1536, 40, 24, 'pose/sapiens2_1b_308kpt'),
    ('Sapiens2ForSemanticSegmentation', 1280, 32, 16, 'seg/sapiens2_0.8b_seg29'),
    ('Sapiens2ForNormalEstimation', 2432, 56, 32, 'geometry/sapiens2_5b_normal'),
    ('Sapiens2ForPointmapEstimation', 1536, 40, 24, 'geometry/sapiens2_1b_pointmap'),
    ('Sapiens2ForImageMatting', 1536, 40, 24, 'matting/sapiens2_1b_matting'),
]


@pytest.mark.parametrize('arch,hidden,layers,heads,expected', OFFICIAL)
def test_bundled_config_from_the_repos_config_json(arch, hidden, layers, heads, expected):
    hf = dict(model_type='sapiens2', architectures=[arch], hidden_size=hidden, num_hidden_layers=layers,
              num_attention_heads=heads)
    name = config_name_from_hf_config(hf)
    assert name == expected
    cfg = get_config(name)
    backbone = cfg.model.backbone if 'model' in cfg else cfg.backbone
    from sapiens2.models.backbones import Sapiens2
    arch_settings = Sapiens2.arch_zoo[backbone.arch]
    assert (arch_settings['embed_dims'], arch_settings['num_layers'], arch_settings['num_heads']) == \
        (hidden, layers, heads)


def test_config_json_only_repo_and_unknown_sizes(hf_cache, tmp_path):
    config = tmp_path / 'config.json'
    config.write_text(json.dumps(dict(model_type='sapiens2', architectures=['Sapiens2ForPoseEstimation'],
                                      hidden_size=1536, num_hidden_layers=40, num_attention_heads=24)))
    add_to_cache(hf_cache, 'facebook/sapiens2-pose-1b', files={'config.json': str(config)})
    assert config_for_checkpoint('hf://facebook/sapiens2-pose-1b') == 'pose/sapiens2_1b_308kpt'
    with pytest.raises(ValueError, match='no released Sapiens2 size'):
        config_name_from_hf_config(dict(model_type='sapiens2', architectures=['Sapiens2ForPoseEstimation'],
                                        hidden_size=32, num_hidden_layers=2, num_attention_heads=2))
    with pytest.raises(ValueError, match='no bundled config pose/sapiens2_0.1b_308kpt'):
        config_name_from_hf_config(dict(model_type='sapiens2', architectures=['Sapiens2ForPoseEstimation'],
                                        hidden_size=768, num_hidden_layers=12, num_attention_heads=12))
    with pytest.raises(ValueError, match='not a Sapiens2 model'):
        config_name_from_hf_config(dict(model_type='vit'))


def test_export_refuses_what_transformers_cannot_express(tmp_path):
    to_hf = load_to_hf()
    albedo = tiny_config('albedo', gqa=False)
    ckpt = str(tmp_path / 'albedo.pth')
    torch.save(dict(state_dict=build_random(albedo).state_dict()), ckpt)
    with pytest.raises(to_hf.NotExportable, match='AlbedoHead'):
        to_hf.export(albedo, ckpt, str(tmp_path / 'out'))
    backbone = tiny_config('backbone', gqa=False)
    backbone.backbone.use_tokenizer = True
    torch.save(dict(state_dict=build_random(backbone).state_dict()), ckpt)
    with pytest.raises(to_hf.NotExportable, match='tokenizer'):
        to_hf.export(backbone, ckpt, str(tmp_path / 'out'))
