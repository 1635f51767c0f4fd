# Body-part segmentation (29 classes) shared by every size: SegEstimator + SegHead (released widths), class-weighted
# cross-entropy + Dice (paper §5), stretch resize to 1024×768, mmseg IoUMetric (+ per-class entries).
# A size config sets `model.backbone` (from configs/_base_/models/sapiens2_<size>.py), `decode_head.in_channels`
# and the layer-decay rate.
_base_ = ['../../_base_/schedules/adamw_warmup_linear.py', '../../_base_/datasets/seg29.py']

image_size = (768, 1024)  # (W, H)
data_root = '{{$DATA_ROOT:data/}}seg29'

model = dict(
    type='SegEstimator',
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(type='Sapiens2'),
    decode_head=dict(
        type='SegHead',
        in_channels=1536,
        deconv_out_channels=(512, 256, 128, 64),
        deconv_kernel_sizes=(4, 4, 4, 4),
        conv_out_channels=(64, 64),
        conv_kernel_sizes=(1, 1),
        num_classes=_base_.seg29_num_classes,
        loss_decode=[
            dict(type='WeightedCrossEntropyLoss', class_weight=_base_.seg29_class_weight,
                 ignore_index=_base_.seg29_ignore_index, loss_weight=1.0, loss_name='loss_ce'),
            dict(type='DiceLoss', ignore_index=_base_.seg29_ignore_index, loss_weight=1.0, loss_name='loss_dice'),
        ]),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseAnnotations', task='seg'),
    dict(type='DenseRandomAffine', scale_range=(0.75, 1.25), max_shift=0.1, max_rotation=30.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal', swap_seg_labels=_base_.seg29_flip_swap_pairs),
    # stretch resize, image: area when the width shrinks, else bicubic (the release's rule, also in its training
    # resize), labels nearest
    dict(type='AutoInterpResize', scale=image_size, keep_ratio=False),
    dict(type='mmpretrain.ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),  # photometric distortion
    dict(type='PackSegInputs'),
]
# test: stretch the image only (as the released demo: area when the width shrinks, else bicubic); labels stay at the
# original size, logits are resized back (bilinear, then argmax)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AutoInterpResize', scale=image_size, keep_ratio=False),
    dict(type='LoadDenseAnnotations', task='seg'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SegDataset', data_root=data_root + '/train', metainfo=_base_.seg29_metainfo,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SegDataset', data_root=data_root + '/val', metainfo=_base_.seg29_metainfo, test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegMetric', ignore_index=_base_.seg29_ignore_index, iou_metrics=['mIoU'])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
