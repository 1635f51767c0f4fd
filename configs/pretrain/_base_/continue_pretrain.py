# Continued pretraining from a released backbone (README "Pretraining"), shared by every size. The student backbone
# starts from sapiens2_<size>_pretrain.safetensors (`model.backbone_checkpoint`, strict) and the EMA teacher as its
# copy; the MAE decoder and DINO head are not released and start fresh. For `freeze_iters` iterations only they train
# (BackboneFreezeHook: backbone requires_grad=False, so student and teacher backbones stay bit-identical); then the
# backbone trains too, its lr ramping linearly from 0 to `backbone_lr_mult` x the schedule over
# `backbone_lr_warmup_iters`. Without the warm-up, the random heads' gradients reach the backbone at once and pull
# its features away from the released ones.
# A size config inherits its pretraining config and this file, and takes these values under the usual keys:
#   model = dict(backbone_checkpoint=..., max_iters=_base_.continue_iters)
#   custom_hooks = _base_.custom_hooks + _base_.continue_hooks
#   param_scheduler = _base_.continue_param_scheduler
#   train_cfg = _base_.continue_train_cfg
# and, under DDP, strategy = dict(model_wrapper=dict(find_unused_parameters=True)): the frozen backbone gets no grads.
# (The names differ from the pretraining config's, since MMEngine forbids a key in two `_base_` files.)
continue_iters = 50000
freeze_iters = 2000  # DINO head + MAE decoder warm-up on the frozen backbone
backbone_lr_warmup_iters = 2000  # linear backbone lr ramp after unfreezing
backbone_lr_mult = 1.0  # backbone lr relative to the schedule once warmed up
head_lr_warmup_iters = 1000  # the schedule's own linear warm-up (every group), from iteration 0

continue_hooks = [
    dict(type='BackboneFreezeHook', freeze_iters=freeze_iters, lr_warmup_iters=backbone_lr_warmup_iters,
         lr_mult=backbone_lr_mult),
]
continue_param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=head_lr_warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=False, begin=head_lr_warmup_iters, end=continue_iters),
]
continue_train_cfg = dict(type='IterBasedTrainLoop', max_iters=continue_iters, val_interval=continue_iters + 1)
