# CPU-sized schedule of the tiny smoke configs (configs/{seg,geometry}/sapiens2_tiny_*_synthetic.py): short warm-up,
# linear decay over 200 iterations, one validation and one checkpoint at the end, no pretrained weights.
# The values carry `tiny_` names and each tiny config binds them (`optim_wrapper = _base_.tiny_optim_wrapper`, ...):
# its task base already defines `optim_wrapper` & co., and MMEngine refuses one key in two sibling `_base_` files.
tiny_max_iters = 200
tiny_optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(layer_decay_rate=0.9),
                          clip_grad=dict(max_norm=1.0))
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=20, end=tiny_max_iters),
]
tiny_train_cfg = dict(type='IterBasedTrainLoop', max_iters=tiny_max_iters, val_interval=tiny_max_iters)
tiny_default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=tiny_max_iters, max_keep_ckpts=1))
tiny_visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
