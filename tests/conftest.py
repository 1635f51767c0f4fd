import os
import os.path as osp

import pytest
import torch

from sapiens2.engine.launch import free_port  # noqa: F401  (torchrun rendezvous ports of the tests)
from sapiens2.utils.package_files import METAINFO_DIR as METAINFO  # noqa: F401  (bundled metadata JSON)

# Everything the suite reads lives in this repository: test fixtures under tests/data, the real-image sample under
# data/ (shared with the quickstart), the metadata as package data.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEST_DATA = osp.join(REPO_ROOT, 'tests', 'data')
FIXTURES = osp.join(TEST_DATA, 'official_equivalence')
COCO_WHOLEBODY_SAMPLE = osp.join(REPO_ROOT, 'data', 'coco_wholebody_sample')
COCO_WHOLEBODY_SAMPLE_FILES = ('test_coco_wholebody.json', '000000000785.jpg', '000000040083.jpg', '000000196141.jpg',
                               '000000197388.jpg')

# Tiny backbones: 2 blocks (all full attention), and 18 blocks so that the middle blocks 8 <= i < L - 8 (here 8 and 9)
# use grouped-query attention, which needs at least 17 blocks.
TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1)
TINY_GQA_ARCH = dict(embed_dims=32, num_layers=18, num_heads=4, feedforward_channels=64, num_tokenizer_layers=1)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def require_file(path: str) -> str:
    """``path`` if it exists; otherwise fail the test naming the missing file (not a later, nameless error)."""
    if not osp.exists(path):
        pytest.fail(f'test data missing: {path} (it is part of the repository; is the checkout complete?)',
                    pytrace=False)
    return path


def pytest_runtest_setup(item):
    """A test module that imports the sample fails at setup naming a missing sample file, instead of deep inside a
    dataset ("Cannot find valid image after 1000!")."""
    if getattr(item.module, 'COCO_WHOLEBODY_SAMPLE', None) == COCO_WHOLEBODY_SAMPLE:
        for name in COCO_WHOLEBODY_SAMPLE_FILES:
            require_file(osp.join(COCO_WHOLEBODY_SAMPLE, name))


@pytest.fixture
def tiny_arch():
    return dict(TINY_ARCH)


@pytest.fixture
def tiny_gqa_arch():
    return dict(TINY_GQA_ARCH)


@pytest.fixture(autouse=True)
def sapiens2_default_scope():
    """Every test starts in the scope the configs use; a test that switches scope does not leak into the next."""
    from mmengine.registry import init_default_scope
    init_default_scope('sapiens2')


# Session fixtures of tests/deployment (its helpers module sits beside those tests; a second conftest.py there would
# shadow this one's names under pytest's default import mode).
@pytest.fixture(scope='session')
def tiny_models():
    """One tiny model per task of tests/deployment: {task: model}."""
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
