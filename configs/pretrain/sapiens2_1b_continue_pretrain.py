# Sapiens2-1b continued pretraining at 1024×768 from the released backbone (see _base_/continue_pretrain.py).
_base_ = ['./sapiens2_1b_pretrain.py', './_base_/continue_pretrain.py']

model = dict(
    backbone_checkpoint='{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_1b_pretrain.safetensors',
    max_iters=_base_.continue_iters)
custom_hooks = _base_.custom_hooks + _base_.continue_hooks
param_scheduler = _base_.continue_param_scheduler
train_cfg = _base_.continue_train_cfg
