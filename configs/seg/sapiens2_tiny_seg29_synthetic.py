# Tiny segmentation model on synthetic data (tools/dataset_converters/make_synthetic_dense.py): trains on CPU in
# about a minute. Data: $DATA_ROOT/synthetic_dense/seg/{images,masks}, used for training and validation.
_base_ = ['../_base_/models/sapiens2_tiny.py', './_base_/seg29.py', '../_base_/schedules/tiny_cpu.py']

data_root = '{{$DATA_ROOT:data/}}synthetic_dense/seg'
image_size = (96, 128)  # (W, H)
model = dict(
    backbone=_base_.backbone,
    decode_head=dict(in_channels=_base_.embed_dims, deconv_out_channels=(32, 32, 16, 16), conv_out_channels=(16, 16)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseAnnotations', task='seg'),
    dict(type='DenseRandomAffine', scale_range=(0.9, 1.1), max_shift=0.05, max_rotation=10.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal', swap_seg_labels=_base_.seg29_flip_swap_pairs),
    dict(type='AutoInterpResize', scale=image_size, keep_ratio=False),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AutoInterpResize', scale=image_size, keep_ratio=False),
    dict(type='LoadDenseAnnotations', task='seg'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# CPU-sized schedule (../_base_/schedules/tiny_cpu.py)
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
visualizer = _base_.tiny_visualizer
