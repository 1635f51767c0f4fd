# Matting (the released MattingHead / transformers' Sapiens2ForImageMatting): a pixel-shuffle head with 4 sigmoid
# outputs, pre-multiplied foreground (3) + alpha (1). Losses on the alpha (L1, gradient, Laplacian pyramid) and the
# composition of the predicted foreground over the sample's background (README section "Matting").
# A size config sets `model.backbone`, `decode_head.in_channels` and the layer decay.
_base_ = ['../../geometry/_base_/geometry_common.py']  # input size, normalisation, loaders, schedule

data_root = '{{$DATA_ROOT:data/}}matting'

model = dict(
    type='MattingEstimator',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='Sapiens2'),
    decode_head=dict(
        type='MattingHead',
        in_channels=1536,
        upsample_channels=(768, 512, 256, 128),  # the released 1B matting head
        conv_out_channels=(64, 32, 16),
        conv_kernel_sizes=(3, 3, 3),
        loss_decode=[
            dict(type='AlphaLoss', loss_weight=1.0, loss_name='loss_alpha'),
            dict(type='GradientLoss', mode='l1', loss_weight=1.0, loss_name='loss_grad'),
            dict(type='LaplacianLoss', levels=5, loss_weight=1.0, loss_name='loss_lap'),
            dict(type='CompositionLoss', loss_weight=1.0, loss_name='loss_comp'),
        ]),
)

# No photometric distortion: the composition loss compares the prediction with the image, and a jittered image
# would no longer be α·F + (1 − α)·B of the ground-truth foreground.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMattingAnnotations'),
    dict(type='DenseRandomAffine', scale_range=(0.75, 1.25), max_shift=0.1, max_rotation=15.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='LetterboxResize', scale=_base_.image_size),
    dict(type='PackMattingInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LetterboxResize', scale=_base_.image_size, resize_targets=False, size_rounding='floor'),
    dict(type='LoadMattingAnnotations', with_trimap=True),  # targets (and trimap) stay at the original size
    dict(type='PackMattingInputs'),
]
train_dataloader = dict(dataset=dict(type='MattingDataset', data_root=data_root + '/train', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='MattingDataset', data_root=data_root + '/val', test_mode=True,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MattingMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='matting/sad', rule='less'))
