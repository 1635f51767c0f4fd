"""``compile = ...`` config switch: MMEngine's Runner compiles ``train_step`` with torch.compile; the compiled tiny
model trains with the same losses as the eager one (CPU)."""
import os

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dist_train_worker import RandomRegression, TinyRegressor  # tests/scale/dist_train_worker.py

BACKEND = os.environ.get('SAPIENS2_TEST_COMPILE_BACKEND', 'aot_eager')  # 'inductor' needs a C++ toolchain + time


class RecordLoss(Hook):
    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))


def train(work_dir, compile_cfg):
    torch.manual_seed(0)
    recorder = RecordLoss()
    runner = Runner(
        model=TinyRegressor(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomRegression(), batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-2)),
        train_cfg=dict(by_epoch=False, max_iters=3),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[recorder], randomness=dict(seed=0),
        cfg=dict(compile=compile_cfg))  # what a config's top-level `compile = ...` becomes
    runner.train()
    return recorder.losses, runner


def test_compile_switch_trains_like_eager(tmp_path):
    eager, _ = train(tmp_path / 'eager', None)
    compiled, runner = train(tmp_path / 'compiled', dict(backend=BACKEND))
    # the Runner really replaced train_step by a torch.compile'd function
    assert hasattr(runner.model.train_step, '_torchdynamo_orig_callable') or \
        'compile' in type(runner.model.train_step).__module__ + repr(runner.model.train_step)
    torch.testing.assert_close(torch.tensor(compiled), torch.tensor(eager), rtol=1e-5, atol=1e-6)
