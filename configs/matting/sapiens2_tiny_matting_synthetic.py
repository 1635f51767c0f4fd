# Tiny matting model on synthetic composites (tools/dataset_converters/make_synthetic_dense.py --tasks matting):
# trains on CPU in about a minute. Data: $DATA_ROOT/synthetic_dense/matting, used for training and validation.
_base_ = ['../_base_/models/sapiens2_tiny.py', './_base_/matting.py', '../_base_/schedules/tiny_cpu.py',
          '../geometry/_base_/tiny_synthetic.py']

data_root = '{{$DATA_ROOT:data/}}synthetic_dense/matting'
model = dict(
    backbone=_base_.backbone,
    decode_head=dict(
        in_channels=_base_.embed_dims, upsample_channels=(32, 32, 16, 16), conv_out_channels=(16, 16, 16)))
load_targets = dict(type='LoadMattingAnnotations')
pack_inputs = dict(type='PackMattingInputs')
train_pipeline = [dict(type='LoadImageFromFile'), load_targets] + _base_.tiny_train_transforms + [pack_inputs]
test_pipeline = [dict(type='LoadImageFromFile'), _base_.tiny_test_resize,
                 dict(type='LoadMattingAnnotations', with_trimap=True), pack_inputs]
train_dataloader = dict(_base_.tiny_loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(_base_.tiny_loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# CPU-sized schedule (../_base_/schedules/tiny_cpu.py)
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
visualizer = _base_.tiny_visualizer
