# Tiny human-parsing model with LIP's own 20 classes for CPU smoke runs (tests): folders from
# tools/dataset_converters/human_parsing.py in $DATA_ROOT/lip/{train,val}, stretched to 128×96.
_base_ = ['../_base_/models/sapiens2_tiny.py', './_base_/human_parsing.py', '../_base_/datasets/lip.py',
          '../_base_/schedules/tiny_cpu.py']

data_root = '{{$DATA_ROOT:data/}}lip'
image_size = (96, 128)  # (W, H)
model = dict(
    backbone=_base_.backbone,
    decode_head=dict(in_channels=_base_.embed_dims, num_classes=_base_.lip_num_classes,
                     deconv_out_channels=(32, 32, 16, 16), conv_out_channels=(16, 16)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseAnnotations', task='seg'),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal', swap_seg_labels=_base_.lip_flip_swap_pairs),
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
                        dataset=dict(data_root=data_root + '/train', metainfo=_base_.lip_metainfo,
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root + '/val', metainfo=_base_.lip_metainfo,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader

# CPU-sized schedule (../_base_/schedules/tiny_cpu.py)
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
visualizer = _base_.tiny_visualizer
