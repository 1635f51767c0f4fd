# Pointmap + scale: PointmapHead, L2 + gradient on the focal-normalised pointmap + L1 on the scale (paper §5).
# A size config sets `model.backbone`, `decode_head.in_channels` (and widths where they differ) and the layer decay.
_base_ = ['./geometry_common.py']

data_root = '{{$DATA_ROOT:data/}}pointmap'

model = dict(
    type='PointmapEstimator',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='Sapiens2'),
    decode_head=dict(
        type='PointmapHead',
        in_channels=1536,
        upsample_channels=(1536, 768, 512, 256),
        conv_out_channels=(64, 32, 16),
        conv_kernel_sizes=(3, 3, 3),
        scale_conv_out_channels=(1536, 512, 128),
        scale_conv_kernel_sizes=(1, 1, 1),
        scale_final_layer=(6144, 512, 128, 1),
        loss_decode=[
            dict(type='PixelRegressionLoss', mode='l2', loss_weight=1.0, loss_name='loss_l2'),
            dict(type='GradientLoss', mode='l2', loss_weight=1.0, loss_name='loss_grad'),
            dict(type='ScaleL1Loss', loss_weight=1.0, loss_name='loss_scale'),
        ]),
    # as the released demo: a pointmap enlarged back to a larger original is first smoothed (3×3 Gaussian, σ 0.8,
    # 4 passes); upsample_smoothing=None turns it off
    test_cfg=dict(upsample_smoothing=dict(kernel_size=3, sigma=0.8, iters=4)),
)
# Released recipe (alternatives, all in sapiens2.models.losses): DepthNormalizedL1Loss (clamp 4),
# MultiScaleL1Loss (x2), SILogLoss (on Z), IntrinsicsConsistencyLoss, ShiftInvariantL1Loss,
# NormalFromPointmapLoss, ScaleL1Loss.

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseAnnotations', task='pointmap'),
    dict(type='DenseRandomAffine', scale_range=(0.75, 1.25), max_shift=0.1, max_rotation=15.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='LetterboxResize', scale=_base_.image_size),  # rounds the resized size, as the released training resize
    dict(type='mmpretrain.ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),  # photometric distortion
    dict(type='PackDenseInputs', task='pointmap'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # the released demos' letterbox: resized size truncated (int), bilinear, centred zero padding
    dict(type='LetterboxResize', scale=_base_.image_size, resize_targets=False, size_rounding='floor'),
    dict(type='LoadDenseAnnotations', task='pointmap'),
    dict(type='PackDenseInputs', task='pointmap'),
]
train_dataloader = dict(dataset=dict(type='PointmapDataset', data_root=data_root + '/train', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='PointmapDataset', data_root=data_root + '/val', test_mode=True,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PointmapMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='pointmap/l2', rule='less'))
