# Post-training schedule (pose / seg / geometry): AdamW, layer-wise lr decay, linear warm-up from
# lr * 1e-3 over 500 iterations, then linear (poly, power 1) decay to 0 per iteration; gradient clipping.
# A size config sets `max_iters`, the lr, `layer_decay_rate` and the clip norm; `param_scheduler` reads `max_iters`.
# It inherits default_runtime.py (and overrides its `train_cfg`): the two cannot be sibling `_base_` files.
_base_ = ['../default_runtime.py']
max_iters = 10000
warmup_iters = 500

optim_wrapper = dict(
    # an iteration whose loss or gradients are NaN/inf on any rank is skipped on every rank (counted, logged as
    # train/skipped_steps, warned about); `max_consecutive_skips` skips in a row stop the run with an error
    type='SkipNonFiniteOptimWrapper',
    max_consecutive_skips=20,
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),
    # lr of layer id l = lr * rate^(L + 1 - l): embeddings/tokenizer 0, block i -> i + 1, the rest (head) L + 1;
    # no weight decay on 1-D parameters (norms, biases, LayerScale) and on the tokenizer's positional embedding.
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, flat_decay_mult=0.0,
                       custom_keys={'local_pos_embed': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=4.0, norm_type=2),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)

# Linear scaling of the lr with the total batch (`--auto-scale-lr` of tools/train.py).
auto_scale_lr = dict(enable=False, base_batch_size=64)
