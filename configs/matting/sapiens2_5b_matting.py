# Sapiens2-5B matting: the 1B matting head widths (only 1B was released), AdamW lr 5e-4, layer decay 0.94.
_base_ = ['../_base_/models/sapiens2_5b.py', './_base_/matting.py', '../_base_/strategies/fsdp.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_5b_pretrain.safetensors'
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.94))
