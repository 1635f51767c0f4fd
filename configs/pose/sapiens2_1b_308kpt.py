# Sapiens2-1B 308-keypoint pose: released 1b head widths (deconv 1536, 1024; conv 768, 512, 256), AdamW lr 5e-4,
# layer decay 0.90, grad clip 4, 2e4 iterations, 1024×768 input, flip test.
_base_ = ['../_base_/models/sapiens2_1b.py', './_base_/sapiens2_308kpt.py', '../_base_/strategies/fsdp.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_1b_pretrain.safetensors'
max_iters = 20000
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims, deconv_out_channels=(1536, 1024),
                     conv_out_channels=(768, 512, 256)))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.90), clip_grad=dict(max_norm=4.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=_base_.warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=_base_.warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters)
