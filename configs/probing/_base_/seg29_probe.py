# Frozen-backbone probe on 29-class body-part segmentation: a light SegHead (4 deconvs 128/64/32/32, one 1×1 conv).
_base_ = ['../../seg/_base_/seg29.py', './probing.py']

model = dict(decode_head=dict(deconv_out_channels=(128, 64, 32, 32), deconv_kernel_sizes=(4, 4, 4, 4),
                              conv_out_channels=(32, ), conv_kernel_sizes=(1, )))
optim_wrapper = dict(_delete_=True, **_base_.probe_optim_wrapper)
param_scheduler = _base_.probe_param_scheduler
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_base_.probe_max_iters, val_interval=2000)
train_dataloader = dict(batch_size=_base_.probe_batch_size)
