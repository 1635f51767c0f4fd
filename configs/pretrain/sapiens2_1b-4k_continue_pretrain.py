# Sapiens2-1b-4k continued pretraining at 4096×3072 from the released backbone (see _base_/continue_pretrain.py).
_base_ = ['./sapiens2_1b-4k_pretrain.py', './_base_/continue_pretrain.py']

model = dict(
    backbone_checkpoint='{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_1b-4k_pretrain.safetensors',
    max_iters=_base_.continue_iters)
custom_hooks = _base_.custom_hooks + _base_.continue_hooks
param_scheduler = _base_.continue_param_scheduler
train_cfg = _base_.continue_train_cfg
