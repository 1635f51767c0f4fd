"""Worker of tests/scale/test_distributed_strategies.py, launched with ``torchrun --nproc_per_node 2``: trains a tiny
Sapiens2 model with MMEngine's FlexibleRunner and a sapiens2 strategy on CPU (gloo), records each iteration's loss
and a checksum of its local weights (shard), and, at the end, the model's output on a fixed input plus its full
(gathered) state dict. With NAN_LOSS_ON_RANK0_AT=N in the environment, rank 0's loss is NaN at iteration N.

    torchrun --standalone --nproc_per_node 2 tests/scale/dist_train_worker.py {ddp,fsdp} WORK_DIR MAX_ITERS [RESUME]
"""
import json
import os
import os.path as osp
import sys

import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import FlexibleRunner
from torch import nn
from torch.distributed.tensor import DTensor
from torch.utils.data import Dataset

import sapiens2.engine  # noqa: F401  (registers the strategies)
from sapiens2.engine.launch import end_distributed_process
from sapiens2.models.backbones import Sapiens2

TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1)
IMG = (32, 48)  # 2 x 3 patch grid
STRATEGIES = dict(
    ddp=dict(type='sapiens2.DeviceAgnosticDDPStrategy'),
    fsdp=dict(type='sapiens2.FullyShardStrategy', param_dtype='bf16', reduce_dtype='bf16', activation_checkpointing=True),
)


class TinyRegressor(BaseModel):
    """Tiny Sapiens2 backbone + 1x1 conv head regressing a [B, 1, 2, 3] target with MSE."""

    def __init__(self):
        super().__init__()
        self.backbone = Sapiens2(arch=TINY_ARCH, img_size=IMG, out_type='featmap', pos_embed_rope_dtype='fp32')
        self.backbone.init_weights()
        self.head = nn.Conv2d(TINY_ARCH['embed_dims'], 1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.backbone(inputs)[-1])
        if mode == 'loss':
            loss = (out.float() - data_samples).pow(2).mean()
            iteration = MessageHub.get_current_instance().get_info('iter') + 1
            if os.environ.get('NAN_LOSS_ON_RANK0_AT') == str(iteration) and os.environ['RANK'] == '0':
                loss = loss * float('nan')
            return dict(loss=loss)
        return out


class RandomRegression(Dataset):
    """16 fixed random (image [3, 32, 48], target [1, 2, 3]) pairs."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.images = torch.randn(16, 3, *IMG, generator=g)
        self.targets = torch.randn(16, 1, IMG[0] // 16, IMG[1] // 16, generator=g)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return dict(inputs=self.images[i], data_samples=self.targets[i])


class RecordLoss(Hook):
    def __init__(self):
        self.losses, self.weight_sums = {}, {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[runner.iter + 1] = float(outputs['loss'])
        # the optimiser's parameters: FSDP's sharded fp32 DTensors even while a unit sits unsharded after a forward
        params = [p.to_local() if isinstance(p, DTensor) else p
                  for group in runner.optim_wrapper.optimizer.param_groups for p in group['params']]
        self.weight_sums[runner.iter + 1] = float(sum(p.detach().double().abs().sum() for p in params))


def main():
    strategy, work_dir, max_iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
    resume = sys.argv[4] if len(sys.argv) > 4 else None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    recorder = RecordLoss()
    runner = FlexibleRunner(
        model=TinyRegressor(),
        work_dir=work_dir,
        strategy=dict(STRATEGIES[strategy]),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        train_dataloader=dict(dataset=RandomRegression(), batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(type='SkipNonFiniteOptimWrapper', optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
                           clip_grad=dict(max_norm=1.0)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[recorder],
        randomness=dict(seed=0),
        resume=resume is not None,
        load_from=resume,
        default_scope='sapiens2',
    )
    runner.train()
    rank = int(os.environ['RANK'])
    model = runner.model
    model.eval()
    with torch.no_grad():
        x = torch.randn(2, 3, *IMG, generator=torch.Generator().manual_seed(1))
        out = model(x)
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    module = model.module if hasattr(model, 'module') else model
    full = get_model_state_dict(module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    master_dtypes = sorted({str(p.dtype) for p in module.parameters()})
    with open(osp.join(work_dir, f'result_rank{rank}.json'), 'w') as f:
        json.dump(dict(losses=recorder.losses, weight_sums=recorder.weight_sums, master_dtypes=master_dtypes,
                       skipped_steps=runner.optim_wrapper.skipped_steps), f)
    if rank == 0:
        torch.save(dict(output=out.detach().float().cpu(), input=x, state_dict=full),
                   osp.join(work_dir, 'final.pth'))
    end_distributed_process()


if __name__ == '__main__':
    main()
