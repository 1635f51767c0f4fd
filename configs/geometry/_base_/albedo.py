# Albedo: AlbedoHead (RMSNorm), L2 + gradient + mean-colour losses on person pixels (paper §5).
# A size config sets `model.backbone`, `decode_head.in_channels` (and widths where they differ) and the layer decay.
_base_ = ['./geometry_common.py']

data_root = '{{$DATA_ROOT:data/}}albedo'

model = dict(
    type='DenseEstimator',
    task='albedo',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='Sapiens2'),
    decode_head=dict(
        type='AlbedoHead',
        in_channels=1536,
        upsample_channels=(768, 512, 256, 128),
        conv_out_channels=(64, 32, 16),
        conv_kernel_sizes=(3, 3, 3),
        loss_decode=[
            dict(type='PixelRegressionLoss', mode='l2', loss_weight=1.0, loss_name='loss_l2'),
            dict(type='GradientLoss', mode='l2', loss_weight=1.0, loss_name='loss_grad'),
            dict(type='MeanColorLoss', loss_weight=1.0, loss_name='loss_mean_color'),
        ]),
)
# Released recipe (L1 x2, gradient MSE x2, chromaticity L1 x1): ../sapiens2_1b_albedo_released_losses.py

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseAnnotations', task='albedo'),
    dict(type='DenseRandomAffine', scale_range=(0.75, 1.25), max_shift=0.1, max_rotation=15.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='LetterboxResize', scale=_base_.image_size),  # rounds the resized size, as the released training resize
    dict(type='mmpretrain.ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),  # photometric distortion
    dict(type='PackDenseInputs', task='albedo'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # the released demos' letterbox: resized size truncated (int), bilinear, centred zero padding
    dict(type='LetterboxResize', scale=_base_.image_size, resize_targets=False, size_rounding='floor'),
    dict(type='LoadDenseAnnotations', task='albedo'),
    dict(type='PackDenseInputs', task='albedo'),
]
train_dataloader = dict(dataset=dict(type='AlbedoDataset', data_root=data_root + '/train', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='AlbedoDataset', data_root=data_root + '/val', test_mode=True,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='AlbedoMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='albedo/psnr', rule='greater'))
