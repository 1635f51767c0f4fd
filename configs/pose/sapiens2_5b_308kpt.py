# Sapiens2-5B 308-keypoint pose: released head widths, AdamW lr 1e-4, layer decay 0.94, grad clip 4, 2e4 iterations,
# 1024×768 input, flip test.
_base_ = ['../_base_/models/sapiens2_5b.py', './_base_/sapiens2_308kpt.py', '../_base_/strategies/fsdp.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_5b_pretrain.safetensors'
max_iters = 20000
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims))
optim_wrapper = dict(optimizer=dict(lr=1e-4), paramwise_cfg=dict(layer_decay_rate=0.94), clip_grad=dict(max_norm=4.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=_base_.warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=_base_.warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters)
