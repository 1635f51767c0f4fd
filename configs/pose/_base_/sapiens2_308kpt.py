# Top-down 308-keypoint pose shared by every size (docs/architecture.md §2.1, §3.2; docs/data_conventions.md §4.3,
# §5.1): TopdownPoseEstimator + PoseHeatmapHead
# (released widths of 0.4b/0.8b/5b; 1b overrides them), UDP heatmaps 192×256 (sigma 6) for 768×1024 crops, OHKM
# heatmap MSE, flip test, COCO OKS AP/AR with the 308 sigmas for the whole body and per part.
# Data: COCO-WholeBody (public) read into the 308 layout; for native 308-keypoint COCO files use
# `type='Keypoints308Dataset'` with the same keys. A size config sets the backbone, `decode_head.in_channels`, the lr,
# the layer-decay rate, the clip norm and (when != 1e4) the iteration count.
# The 308-keypoint metadata is referenced by file (the datasets' METAINFO and the metric's part names read
# sapiens2/metainfo/keypoints308.json), not inlined: configs, logs and checkpoints stay small.
_base_ = ['../../_base_/schedules/adamw_warmup_linear.py']

image_size = (768, 1024)  # (W, H)
heatmap_size = (192, 256)  # (W, H)
codec = dict(type='UDPHeatmap', input_size=image_size, heatmap_size=heatmap_size, sigma=6, blur_kernel_size=11)
data_root = '{{$DATA_ROOT:data/}}coco/'

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(type='Sapiens2'),
    decode_head=dict(
        type='PoseHeatmapHead',
        in_channels=1024,
        out_channels=308,
        deconv_out_channels=(1024, 768),
        deconv_kernel_sizes=(4, 4),
        conv_out_channels=(512, 512, 256),
        conv_kernel_sizes=(1, 1, 1),
        # paper: MSE with online hard keypoint mining; the released recipe's plain loss is
        # dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=10.0)
        loss_decode=dict(type='KeypointOHKMMSELoss', use_target_weight=True, topk=128, loss_weight=10.0)),
    # decoding: the batched torch UDP codec (same keypoints as mmpose's UDPHeatmap.decode, DARK-UDP, blur 11)
    codec=dict(codec, type='BatchedUDPHeatmap'),
    test_cfg=dict(flip_test=True, output_heatmaps=False),
)

train_pipeline = [
    dict(type='LoadPoseImage'),  # skip_unreadable=True: warn, count and draw another sample instead of failing
    dict(type='mmpose.GetBBoxCenterScale', padding=1.25),
    dict(type='mmpose.RandomFlip', direction='horizontal'),  # swaps keypoints by the metainfo flip_indices
    dict(type='mmpose.RandomHalfBody'),
    dict(type='mmpose.RandomBBoxTransform'),  # shift / scale / rotation jitter
    # mmpose's TopdownAffine with the release's interpolation (area when the crop shrinks, bicubic when it enlarges),
    # in training too: the release trains with it and the network then sees the same resampling as at test time
    dict(type='AutoInterpTopdownAffine', input_size=image_size, use_udp=True),
    dict(type='mmpose.PhotometricDistortion'),
    dict(type='mmpose.GenerateTarget', encoder=codec),
    dict(type='mmpose.PackPoseInputs'),
]
# inference equal to the released demo (README "Inference equal to the released demos"): box x1.25, 3:4, UDP warp
# with the release's interpolation
test_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='mmpose.GetBBoxCenterScale', padding=1.25),
    dict(type='AutoInterpTopdownAffine', input_size=image_size, use_udp=True),
    dict(type='mmpose.PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoWholeBody308Dataset', data_root=data_root, data_mode='topdown',
                 ann_file='annotations/coco_wholebody_train_v1.0.json', data_prefix=dict(img='train2017/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoWholeBody308Dataset', data_root=data_root, data_mode='topdown',
                 ann_file='annotations/coco_wholebody_val_v1.0.json', data_prefix=dict(img='val2017/'),
                 test_mode=True, pipeline=test_pipeline))  # ground-truth boxes (paper Tables 3, 7)
test_dataloader = val_dataloader

# OKS AP/AR with the 308 sigmas: whole body ('all') and per part (paper Table 7); keys '<part>/coco/AP',
# '<part>/coco/AR', ...
# score = box score (GT boxes: 1), no NMS: one prediction per GT box, the same scoring for every part.
val_evaluator = dict(
    type='PosePartitionMetric',
    metric=dict(type='CocoMetric', score_mode='bbox', nms_mode='none'),
    partitions=('all', 'body', 'foot', 'face', 'left_hand', 'right_hand'))  # groups of keypoints308.json
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='all/coco/AP', rule='greater'))
