"""A regular (non-editable) install works on its own: configs and metadata ship inside the package.

The package is installed with pip into a temporary target (no dependencies, no build isolation: the test
environment's torch/MMEngine are reused) and used from an unrelated working directory, with the target first on
``sys.path`` so that the checkout (editable install) is not what gets imported.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

from conftest import REPO_ROOT

USE_INSTALLED = textwrap.dedent('''
    import json, os.path as osp, sys
    import sapiens2
    from sapiens2.apis import init_pose_model
    from sapiens2.datasets import Keypoints308Dataset
    from sapiens2.utils.keypoint_converters import coco_wholebody133_to_keypoints308
    from sapiens2.utils.package_files import config_root, get_config_path, metainfo_file

    model = init_pose_model('pose/sapiens2_tiny_308kpt_coco_wholebody_sample')
    with open(metainfo_file('keypoints308')) as f:
        meta = json.load(f)
    print(json.dumps(dict(
        package=sapiens2.__file__, config_root=config_root(),
        config_1b=get_config_path('pose/sapiens2_1b_308kpt'),
        model=type(model).__name__, heatmap_channels=model.decode_head.conv_pose.out_channels,
        num_keypoints=model.dataset_meta['num_keypoints'], flip_indices=list(model.dataset_meta['flip_indices']),
        json_num_keypoints=meta['num_keypoints'], json_flip_indices=meta['flip_indices'],
        dataset_metainfo=Keypoints308Dataset.METAINFO['from_file'],
        coco133_map=len(coco_wholebody133_to_keypoints308()))))
''')


def test_non_editable_install_works_from_any_directory(tmp_path):
    target, workdir = tmp_path / 'site', tmp_path / 'elsewhere'
    workdir.mkdir()
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
                    '--target', str(target), REPO_ROOT], check=True, cwd=str(workdir))
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run([sys.executable, '-c', USE_INSTALLED], cwd=str(workdir), env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    installed = osp.join(str(target), 'sapiens2')
    assert out['package'].startswith(installed), f"imported {out['package']}, not the installed copy"
    assert out['config_root'] == osp.join(installed, '.mim', 'configs')
    assert out['config_1b'].startswith(out['config_root']) and osp.isfile(out['config_1b'])
    assert out['dataset_metainfo'].startswith(out['config_root'])
    assert out['model'] == 'TopdownPoseEstimator' and out['heatmap_channels'] == 308
    assert out['num_keypoints'] == out['json_num_keypoints'] == 308
    assert out['flip_indices'] == out['json_flip_indices']
    assert out['coco133_map'] == 53
