# Dense probing protocol (paper Table 2): the backbone is frozen (`frozen_stages = num_layers`: patch embed,
# tokenizer, special tokens, every block and the final norm) and one light decoder is trained with the SAME
# hyper-parameters for every backbone. Task bases (seg29_probe.py, normal_probe.py) add the decoder and the data;
# a size config only sets the backbone (its pretrained checkpoint) and `decode_head.in_channels`.
probe_max_iters = 20000
probe_batch_size = 8
probe_optim_wrapper = dict(
    type='SkipNonFiniteOptimWrapper',  # non-finite steps skipped on every rank (schedules/adamw_warmup_linear.py)
    max_consecutive_skips=20,
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),  # backbone parameters have no gradient
    clip_grad=dict(max_norm=1.0, norm_type=2))
probe_param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=500, end=probe_max_iters),
]
