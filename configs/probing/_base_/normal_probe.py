# Frozen-backbone probe on surface normals: a light NormalHead (PixelShuffle 128/64/32/16, one 3×3 conv of 16).
_base_ = ['../../geometry/_base_/normal.py', './probing.py']

model = dict(decode_head=dict(upsample_channels=(128, 64, 32, 16), conv_out_channels=(16, ), conv_kernel_sizes=(3, )))
optim_wrapper = dict(_delete_=True, **_base_.probe_optim_wrapper)
param_scheduler = _base_.probe_param_scheduler
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_base_.probe_max_iters, val_interval=2000)
train_dataloader = dict(batch_size=_base_.probe_batch_size)
