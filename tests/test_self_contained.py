"""Nothing tracked reads outside the checkout: a user's clone has no sibling folders beside it."""
import os.path as osp
import re
import subprocess

import pytest

from conftest import REPO_ROOT

# the sibling reference folder and the variable that pointed there (spelled in parts: this file must not match)
OUTSIDE = re.compile(r'\.\./shared|' + 'SAPIENS2_' + 'SHARED')


def tracked_files():
    try:
        out = subprocess.run(['git', 'ls-files'], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout')
    return out.split()


def test_no_tracked_file_refers_outside_the_repository():
    offenders = []
    for rel in tracked_files():
        if rel.endswith(('.md', '.safetensors', '.npz', '.jpg', '.png')):  # prose and data
            continue
        path = osp.join(REPO_ROOT, rel)
        if not osp.isfile(path):
            continue
        with open(path, errors='ignore') as f:
            for n, line in enumerate(f, 1):
                if OUTSIDE.search(line):
                    offenders.append(f'{rel}:{n}: {line.strip()}')
    assert not offenders, 'tracked files that read outside the checkout:\n' + '\n'.join(offenders)
