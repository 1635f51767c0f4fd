# Table 2 probe: frozen Sapiens2-0.1b pretrained backbone + the shared light seg29 decoder (configs/probing/_base_).
# Any backbone checkpoint of this size works, e.g. an export of tools/convert/pretrain_to_backbone.py:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = ['../_base_/models/sapiens2_0.1b.py', './_base_/seg29_probe.py']

pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_0.1b_pretrain.safetensors'
model = dict(
    backbone=dict(_base_.backbone, frozen_stages=_base_.num_layers,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims))
