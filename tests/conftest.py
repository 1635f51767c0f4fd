import os
import os.path as osp

import pytest
import torch

from sapiens2.engine.launch import free_port  # noqa: F401  (torchrun rendezvous ports of the tests)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.abspath(os.environ.get('SAPIENS2_SHARED', osp.join(REPO_ROOT, '..', 'shared')))
FIXTURES = osp.join(SHARED, 'fixtures', 'official_equivalence')
METAINFO = osp.join(SHARED, 'data', 'metainfo')
COCO_WHOLEBODY_SAMPLE = osp.join(SHARED, 'data', 'coco_wholebody_sample')

# Tiny backbones: 2 blocks (all full attention), and 18 blocks so that the middle blocks 8 <= i < L - 8 (here 8 and 9)
# use grouped-query attention, which needs at least 17 blocks.
TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1)
TINY_GQA_ARCH = dict(embed_dims=32, num_layers=18, num_heads=4, feedforward_channels=64, num_tokenizer_layers=1)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


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
