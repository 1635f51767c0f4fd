"""Shared by the tools tests: run a tool as a subprocess with the tiny config's modules importable."""
import os
import os.path as osp
import subprocess
import sys

from conftest import REPO_ROOT as REPO
from conftest import free_port  # noqa: F401  (re-exported for the tools tests)

DATA = osp.join(REPO, 'tests', 'tools', 'data')
TINY_CONFIG = osp.join(DATA, 'tiny_config.py')
if DATA not in sys.path:
    sys.path.insert(0, DATA)  # tools_test_modules (registered by the tiny config's custom_imports)


def tool_env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([DATA, REPO, os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1', PYTHON=sys.executable)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_tool(args, env=None, check=True) -> subprocess.CompletedProcess:
    """Run ``args`` (a script path relative to the repo and its arguments) with this interpreter (``.sh`` with bash);
    on failure with ``check`` the assertion shows the output tail."""
    cmd = (['bash'] if args[0].endswith('.sh') else [sys.executable]) + [osp.join(REPO, args[0])] + list(args[1:])
    proc = subprocess.run(cmd, cwd=REPO, env=env or tool_env(), capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc
