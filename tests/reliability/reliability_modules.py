"""Fault injection for tests/reliability (imported by the test configs through ``custom_imports``; this folder and
tests/tools/data are on PYTHONPATH). Each hook acts on one rank (``RANK``, 0 without a launcher) at one iteration
(1-based, as logged)."""
import os
import signal

import torch
from mmengine.hooks import Hook

from sapiens2.registry import HOOKS


def _rank() -> int:
    return int(os.environ.get('RANK', '0'))


@HOOKS.register_module()
class StopRankAt(Hook):
    """SIGSTOPs this process (as a hung node would stop) before iteration ``iteration`` on rank ``rank``, after
    writing its pid to ``pid_file``."""

    def __init__(self, rank: int, iteration: int, pid_file: str):
        self.rank, self.iteration, self.pid_file = rank, iteration, pid_file

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if _rank() == self.rank and runner.iter + 1 == self.iteration:
            with open(self.pid_file, 'w') as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGSTOP)


@HOOKS.register_module()
class NaNLossFrom(Hook):
    """From iteration ``iteration`` on, rank ``rank``'s forward output (hence its loss) is NaN."""

    priority = 'VERY_HIGH'

    def __init__(self, rank: int, iteration: int):
        self.rank, self.iteration, self.handle = rank, iteration, None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if _rank() == self.rank and runner.iter + 1 >= self.iteration and self.handle is None:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            self.handle = model.decode_head.register_forward_hook(lambda m, i, out: out * float('nan'))


@HOOKS.register_module()
class KillDuringSave(Hook):
    """Makes the write of the regular checkpoint of iteration ``iteration`` die half-way on rank ``rank``: part of
    the bytes reach the disk, then the process exits with status 137 (as if SIGKILLed). Covers the ``.pth`` write
    of MMEngine's ``Runner`` and the DCP directory write of ``FullyShardStrategy``."""

    def __init__(self, iteration: int, rank: int = 0):
        self.prefix, self.rank = f'iter_{iteration}.pth', rank

    def _hit(self, path) -> bool:
        return _rank() == self.rank and os.path.basename(str(path).rstrip('/')).startswith(self.prefix)

    def before_train(self, runner):
        import io

        import mmengine.runner.runner as runner_module
        import torch.distributed.checkpoint as dcp
        save_file, save_dcp, hook = runner_module.save_checkpoint, dcp.save, self

        def dying_save_file(checkpoint, filename, *args, **kwargs):
            if hook._hit(filename):
                buffer = io.BytesIO()
                torch.save(checkpoint, buffer)
                with open(filename, 'wb') as f:
                    f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
                os._exit(137)
            return save_file(checkpoint, filename, *args, **kwargs)

        def dying_save_dcp(state_dict, *args, checkpoint_id=None, **kwargs):
            if hook._hit(checkpoint_id):
                os.makedirs(checkpoint_id, exist_ok=True)
                with open(os.path.join(checkpoint_id, f'__{_rank()}_0.distcp'), 'wb') as f:
                    f.write(b'half a shard')
                os._exit(137)
            return save_dcp(state_dict, *args, checkpoint_id=checkpoint_id, **kwargs)

        runner_module.save_checkpoint = dying_save_file
        dcp.save = dying_save_dcp


@HOOKS.register_module()
class PoisonWeightsAt(Hook):
    """After iteration ``iteration``, one backbone weight becomes NaN (as after an overflowing update)."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            with torch.no_grad():
                next(model.backbone.parameters()).view(-1)[0] = float('nan')


@HOOKS.register_module()
class DiskFullDuringSave(Hook):
    """The disk fills up while rank ``rank`` writes the checkpoint of iteration ``iteration``: part of the bytes
    reach the file, then the write fails with ``OSError(ENOSPC)``. ``where``: 'shard' (the rank's DCP shard file,
    inside torch's ``FileSystemWriter.write_data``), 'extra' (``extra_state.pth`` of ``FullyShardStrategy``, rank 0)
    or 'pth' (the ``.pth`` file of MMEngine's ``Runner``, rank 0)."""

    def __init__(self, iteration: int, rank: int = 0, where: str = 'shard'):
        self.prefix, self.rank, self.where = f'iter_{iteration}.pth', rank, where

    def _hit(self, path) -> bool:
        return _rank() == self.rank and self.prefix in str(path)

    @staticmethod
    def _fill(path):
        import errno
        with open(path, 'wb') as f:
            f.write(b'\0' * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def before_train(self, runner):
        hook = self
        if self.where == 'shard':
            from torch.distributed.checkpoint.filesystem import FileSystemWriter
            write_data = FileSystemWriter.write_data

            def full_write_data(writer, plan, planner):
                if hook._hit(writer.path):
                    hook._fill(os.path.join(str(writer.path), f'__{_rank()}_0.distcp'))
                return write_data(writer, plan, planner)

            FileSystemWriter.write_data = full_write_data
        elif self.where == 'extra':
            save = torch.save

            def full_save(obj, f, *args, **kwargs):
                if isinstance(f, str) and f.endswith('extra_state.pth') and hook._hit(f):
                    hook._fill(f)
                return save(obj, f, *args, **kwargs)

            torch.save = full_save
        else:
            import mmengine.runner.runner as runner_module
            save_file = runner_module.save_checkpoint

            def full_save_file(checkpoint, filename, *args, **kwargs):
                if hook._hit(filename):
                    hook._fill(filename)
                return save_file(checkpoint, filename, *args, **kwargs)

            runner_module.save_checkpoint = full_save_file
