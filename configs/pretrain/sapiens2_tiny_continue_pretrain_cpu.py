# Tiny continued pretraining on CPU (tests/pretrain/test_continued_pretraining.py): the tiny recipe of
# sapiens2_tiny_pretrain_cpu.py started from a "released" tiny backbone ($SAPIENS_CHECKPOINT_ROOT/pretrain/
# sapiens2_tiny_pretrain.safetensors), fresh heads warmed up for 40 iterations on the frozen backbone, then 80 more
# with the backbone's lr ramping over 40 iterations up to 0.3 x the heads' (_base_/continue_pretrain.py). Measured on
# the 4 bundled images (seed 0), the 0.3 keeps the backbone's features closer to the released ones (patch cosine 0.96
# vs 0.93 at 1.0) and ends at a lower loss (1.71 vs 1.90).
_base_ = ['./sapiens2_tiny_pretrain_cpu.py', './_base_/continue_pretrain.py']

continue_iters = 120
freeze_iters = 40
backbone_lr_warmup_iters = 40
backbone_lr_mult = 0.3
model = dict(
    backbone_checkpoint='{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_tiny_pretrain.safetensors',
    max_iters=continue_iters)
custom_hooks = _base_.custom_hooks + [
    dict(_base_.continue_hooks[0], freeze_iters=freeze_iters, lr_warmup_iters=backbone_lr_warmup_iters,
         lr_mult=backbone_lr_mult)]
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=10, end=continue_iters),
]
train_cfg = dict(max_iters=continue_iters, val_interval=continue_iters + 1)
default_hooks = dict(checkpoint=dict(interval=freeze_iters))
