"""Shared by tests/reliability: the tiny tools config with the fault-injection hooks of reliability_modules.py, run
through tools/train.py in one process, under torchrun (tools/dist_train.sh) or as two plain processes."""
import os
import os.path as osp
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
TOOLS_DATA = osp.join(REPO, 'tests', 'tools', 'data')
TINY_CONFIG = osp.join(TOOLS_DATA, 'tiny_config.py')
for path in (HERE, TOOLS_DATA):
    if path not in sys.path:
        sys.path.insert(0, path)


def write_config(path, *lines, bases=()) -> str:
    """A config on top of the tiny tools config (real schedule and runtime) and ``bases`` (e.g. a strategy base)
    with the fault-injection modules."""
    with open(path, 'w') as f:
        f.write(f"_base_ = {[TINY_CONFIG, *map(str, bases)]!r}\n"
                "custom_imports = dict(imports=['tools_test_modules', 'reliability_modules'], "
                "allow_failed_imports=False)\n" + ''.join(line + '\n' for line in lines))
    return str(path)


def env(**extra) -> dict:
    result = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
                  PYTHONPATH=os.pathsep.join([HERE, TOOLS_DATA, REPO, os.environ.get('PYTHONPATH', '')]))
    result.update({k: str(v) for k, v in extra.items()})
    return result


def train(config, work_dir, *args, nproc=1, timeout=300, **env_extra) -> subprocess.CompletedProcess:
    """tools/train.py (nproc 1) or tools/dist_train.sh CONFIG nproc; returns the finished process (not checked)."""
    if nproc == 1:
        cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(config), '--work-dir', str(work_dir)]
    else:
        from sapiens2.engine.launch import free_port
        env_extra.setdefault('PORT', free_port())
        cmd = ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), str(config), str(nproc), '--work-dir',
               str(work_dir)]
    return subprocess.run(cmd + list(args), cwd=REPO, env=env(**env_extra), capture_output=True, text=True,
                          timeout=timeout)


def train_two_plain_processes(config, work_dir, *args, wait_for_rank=0, timeout=120, **env_extra):
    """tools/train.py --launcher pytorch as ranks 0 and 1 started by hand (no torchrun, which would also act on a
    failure): waits for rank ``wait_for_rank`` to end, then kills what is left. Returns (rc, end time (time.time()
    when that rank ended), logs)."""
    from sapiens2.engine.launch import free_port
    port = free_port()
    procs, logs = [], []
    for rank in range(2):
        log = open(osp.join(str(work_dir) + f'_rank{rank}.log'), 'w+')
        cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(config), '--work-dir', str(work_dir),
               '--launcher', 'pytorch'] + list(args)
        procs.append(subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env(
            MASTER_ADDR='127.0.0.1', MASTER_PORT=port, WORLD_SIZE=2, RANK=rank, LOCAL_RANK=rank, **env_extra)))
        logs.append(log)
    try:
        rc = procs[wait_for_rank].wait(timeout=timeout)
        end = time.time()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    texts = []
    for log in logs:
        log.seek(0)
        texts.append(log.read())
        log.close()
    return rc, end, texts
