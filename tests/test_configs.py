"""Every config parses and builds its model (on the meta device: no memory, 5B included)."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine import Config

from conftest import REPO_ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep))
IDS = [osp.relpath(p, osp.join(REPO_ROOT, 'configs')) for p in CONFIGS]


def test_metainfo_configs_are_generated_from_the_json():
    script = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'metainfo_to_config.py')
    res = subprocess.run([sys.executable, script, '--check'], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_keypoints308_metainfo_parses_with_mmpose():
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    path = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'keypoints308.py')
    meta = parse_pose_metainfo(dict(from_file=path))
    assert meta['num_keypoints'] == 308
    assert meta['flip_indices'] == Config.fromfile(path).flip_indices
    assert len(meta['skeleton_links']) == 65


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_builds_model_on_meta_device(path):
    import sapiens2.models  # noqa: F401
    from mmengine.registry import init_default_scope

    from sapiens2.registry import MODELS
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') == 'sapiens2', 'configs inherit default_runtime.py'
    init_default_scope('sapiens2')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
