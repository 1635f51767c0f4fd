# Sapiens2-0.4B 308-keypoint pose: released head widths, AdamW lr 5e-4, layer decay 0.80, grad clip 2,
# 1e4 iterations (the schedule base), 1024×768 input, flip test.
_base_ = ['../_base_/models/sapiens2_0.4b.py', './_base_/sapiens2_308kpt.py', '../_base_/strategies/ddp.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_0.4b_pretrain.safetensors'
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.80), clip_grad=dict(max_norm=2.0))
