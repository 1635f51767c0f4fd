# Pretraining schedule (appendix A.1): AdamW betas (0.9, 0.95), wd 0.05 with no decay on norms, biases,
# positional and special tokens; 1e3-iteration linear warm-up, cosine to 1e-7 per iteration; clip 5.0.
# It inherits default_runtime.py (and overrides its `train_cfg`): the two cannot be sibling `_base_` files.
_base_ = ['../default_runtime.py']
max_iters = 500000
warmup_iters = 1000

optim_wrapper = dict(
    # an iteration whose loss or gradients are NaN/inf on any rank is skipped on every rank (counted, logged as
    # train/skipped_steps, warned about); `max_consecutive_skips` skips in a row stop the run with an error
    type='SkipNonFiniteOptimWrapper',
    max_consecutive_skips=20,
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'cls_token': dict(decay_mult=0.0),
            'storage_tokens': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
            'local_pos_embed': dict(decay_mult=0.0),
            'w_cls': dict(decay_mult=0.0),
        }),
    clip_grad=dict(max_norm=5.0, norm_type=2),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=False, begin=warmup_iters, end=max_iters),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
auto_scale_lr = dict(enable=False, base_batch_size=2048)
