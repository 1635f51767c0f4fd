# Sapiens2-5B surface normals: released head widths, AdamW lr 1e-4, layer decay 0.94.
_base_ = ['../_base_/models/sapiens2_5b.py', './_base_/normal.py', '../_base_/strategies/fsdp.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_5b_pretrain.safetensors'
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(
        in_channels=_base_.embed_dims, upsample_channels=(1536, 768, 512, 256), conv_out_channels=(128, 64, 32)))
optim_wrapper = dict(optimizer=dict(lr=1e-4), paramwise_cfg=dict(layer_decay_rate=0.94))
