"""Every command-line tool under tools/ (all subfolders; new tools are picked up automatically) answers ``--help``
with exit status 0, and parses its arguments before importing the heavy modules (torch, MMEngine and the OpenMMLab
libraries built on it), so that ``--help`` and argument errors come back in well under 2 s even on a loaded machine.

Each tool runs in its own interpreter through a small probe: it runs the script as ``__main__`` (script folder
first on ``sys.path``, as ``python tools/x.py`` does) with ``--help``, catches argparse's ``SystemExit`` and reports
the exit status and which heavy modules are in ``sys.modules`` at that point. ``--help`` exits inside
``parse_args``, so any heavy module found there was imported before parsing.

Every tool, and every tool added later, must pass both checks.
"""
import functools
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

from tools_test_helpers import REPO, tool_env

HEAVY_MODULES = ('torch', 'mmengine', 'mmcv', 'mmpretrain', 'mmpose', 'mmseg')
MARK = '@@HELP_PROBE@@'
PROBE = f'''
import json, os, runpy, sys
path = sys.argv[1]
sys.argv = [path, '--help']
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
code = 0
try:
    runpy.run_path(path, run_name='__main__')
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
sys.stdout.flush()
heavy = sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)
print({MARK!r} + json.dumps(dict(code=code, heavy=heavy)))
'''

def list_tools():
    """Every Python script under tools/ that runs as a program (has a ``__main__`` guard)."""
    tools = []
    for path in sorted(glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True)):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if "__name__ == '__main__'" in text or '__name__ == "__main__"' in text:
            tools.append(osp.relpath(path, REPO))
    return tools


TOOLS = list_tools()


@functools.lru_cache(maxsize=None)
def probe(tool: str) -> dict:
    proc = subprocess.run([sys.executable, '-c', PROBE, osp.join(REPO, tool)], cwd=REPO, env=tool_env(),
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert proc.returncode == 0 and lines, \
        f'{tool} --help failed (status {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}'
    return dict(json.loads(lines[-1][len(MARK):]), stdout=proc.stdout)


def test_tools_are_found():
    assert 'tools/train.py' in TOOLS and 'tools/analysis/get_model_complexity.py' in TOOLS
    assert not any(t.endswith('__init__.py') for t in TOOLS)


@pytest.mark.parametrize('tool', TOOLS)
def test_help_exits_zero(tool):
    result = probe(tool)
    assert result['code'] == 0, f'{tool} --help exited with {result["code"]}'
    assert 'usage:' in result['stdout'], f'{tool} --help printed no usage'


@pytest.mark.parametrize('tool', TOOLS)
def test_help_parses_before_heavy_imports(tool):
    heavy = probe(tool)['heavy']
    assert not heavy, f'{tool} imports {", ".join(heavy)} before parsing its arguments: parse first, import after'


def test_cli_dtype_names_match_the_library():
    """The converters' --dtype choices (spelled out in sapiens2.cli so that parsing needs no torch)."""
    from sapiens2.cli import CHECKPOINT_DTYPE_NAMES
    from sapiens2.utils.checkpoint import CHECKPOINT_DTYPES
    assert tuple(sorted(CHECKPOINT_DTYPES)) == CHECKPOINT_DTYPE_NAMES
