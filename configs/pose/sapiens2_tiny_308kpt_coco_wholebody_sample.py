# Tiny 308-keypoint pose model on the bundled COCO-WholeBody sample (4 images, 12 people with keypoints), used by
# `make quickstart` and the tests: a small backbone (C=64, L=4; the shared tiny C=32, L=2 one is too weak to fit 308
# keypoints), 128×96 crops, 32×24 heatmaps (sigma 2), plain weighted MSE; trains on CPU in a couple of minutes.
# The sample serves as both training and test set (it shows the pipeline fits and scores, not a benchmark).
_base_ = ['../_base_/models/sapiens2_tiny.py', './_base_/sapiens2_308kpt.py']

data_root = '{{$DATA_ROOT:data/}}coco_wholebody_sample/'  # the bundled sample, data/ of the checkout
image_size = (96, 128)  # (W, H)
codec = dict(type='UDPHeatmap', input_size=image_size, heatmap_size=(24, 32), sigma=2, blur_kernel_size=11)
embed_dims = 64
model = dict(
    backbone=dict(_base_.backbone, arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4,
                                             feedforward_channels=128, num_tokenizer_layers=1)),
    decode_head=dict(in_channels=embed_dims, deconv_out_channels=(64, 64), conv_out_channels=(64, 64, 64),
                     # plain weighted MSE (the released recipe's loss) instead of the base's OHKM
                     loss_decode=dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=10.0,
                                      _delete_=True)),
    codec=dict(codec, type='BatchedUDPHeatmap'))

train_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='mmpose.GetBBoxCenterScale', padding=1.25),
    dict(type='mmpose.RandomFlip', direction='horizontal'),  # no box jitter: the point is to fit 12 people fast
    dict(type='AutoInterpTopdownAffine', input_size=image_size, use_udp=True),
    dict(type='mmpose.GenerateTarget', encoder=codec),
    dict(type='mmpose.PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadPoseImage'),
    dict(type='mmpose.GetBBoxCenterScale', padding=1.25),
    dict(type='AutoInterpTopdownAffine', input_size=image_size, use_udp=True),
    dict(type='mmpose.PackPoseInputs'),
]
sample = dict(type='CocoWholeBody308Dataset', data_root=data_root, data_mode='topdown',
              ann_file='test_coco_wholebody.json', data_prefix=dict(img=''))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(sample, pipeline=train_pipeline, _delete_=True))
val_dataloader = dict(batch_size=7, num_workers=0, persistent_workers=False,
                      dataset=dict(sample, test_mode=True, pipeline=test_pipeline, _delete_=True))
test_dataloader = val_dataloader

# CPU-sized schedule: short warm-up, linear decay over `max_iters`, no pretrained weights.
max_iters = 1500
optim_wrapper = dict(optimizer=dict(lr=2e-3), paramwise_cfg=dict(layer_decay_rate=0.9), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
