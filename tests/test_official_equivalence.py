"""The release-equivalence fixtures of ../shared, checked with the shared checker's own comparison."""
import glob
import importlib.util
import os.path as osp

import pytest

from conftest import FIXTURES, SHARED

_spec = importlib.util.spec_from_file_location('check_official_equivalence',
                                               osp.join(SHARED, 'scripts', 'check_official_equivalence.py'))
checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checker)

FIXTURE_FILES = sorted(glob.glob(osp.join(FIXTURES, '*.safetensors')))


def test_fixtures_present():
    assert any(osp.basename(p).startswith('bb_') for p in FIXTURE_FILES), f'no fixtures under {FIXTURES}'


@pytest.mark.parametrize('path', FIXTURE_FILES, ids=[osp.basename(p)[:-12] for p in FIXTURE_FILES])
def test_matches_released_network(path):
    ok, msg = checker.check(path)
    assert ok, f'{osp.basename(path)}: {msg}'
