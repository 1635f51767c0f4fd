import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))  # deploy_helpers


@pytest.fixture(scope='session')
def tiny_models():
    from deploy_helpers import TASKS, quiet, tiny_model
    quiet()
    return {task: tiny_model(task) for task in TASKS}


@pytest.fixture(scope='session')
def onnx_exports(tiny_models, tmp_path_factory):
    """fp32 ONNX exports (dynamic batch) of every tiny task model, made once per session: {task: path}."""
    from sapiens2.deployment.export import export_model
    folder = tmp_path_factory.mktemp('onnx')
    paths = {}
    for task, model in tiny_models.items():
        paths[task] = str(folder / f'{task}.onnx')
        export_model(model, 'onnx', paths[task], dynamic_batch=True)
    return paths
