# Sapiens2 self-supervised pretraining shared by every size (docs/architecture.md §3.8, paper appendix A.1): MAE (75% mixed block/patch
# masking, 8×512 decoder) + DINO [CLS] self-distillation (EMA teacher 0.992, centre 0.9, T_s 0.1, T_t 0.065→0.07)
# + KoLeo; L = 1.0·MAE + 0.4·CL + 0.04·KoLeo. 2 global (scale 0.5–1.0) + 4 local (0.2–0.7) crops, colour
# augmentation on the local views only. A size config sets `model.backbone`, the crop sizes and the batch size.
_base_ = ['../../_base_/schedules/adamw_warmup_cosine.py']

global_size = (1024, 768)  # (H, W) of the global crops (mmpretrain RandomResizedCrop takes (h, w))
local_size = (512, 384)  # (H, W) of the local crops
num_local_views = 4
data_root = '{{$DATA_ROOT:data/}}humans'
batch_size = 8  # per GPU

model = dict(
    type='Sapiens2Pretrainer',
    data_preprocessor=dict(type='mmpretrain.SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='Sapiens2'),
    mae_decoder=dict(embed_dims=512, num_layers=8, num_heads=16, feedforward_channels=2048),
    dino_head=dict(num_prototypes=65536, hidden_channels=2048, bottleneck_channels=256, num_layers=3),
    mask_cfg=dict(mask_ratio=0.75, block_prob=0.4),
    num_global_views=2,
    loss_weights=dict(mae=1.0, cl=0.4, koleo=0.04),
    student_temperature=0.1,
    teacher_temperature_warmup=0.065,
    teacher_temperature=0.07,
    teacher_temperature_warmup_iters=1000,
    teacher_momentum=0.992,
    teacher_momentum_final=0.992,  # set e.g. 1.0 to schedule the momentum (cosine) towards 1
    max_iters=_base_.max_iters,
    center_momentum=0.9)

global_view = [
    dict(type='mmpretrain.RandomResizedCrop', scale=global_size, crop_ratio_range=(0.5, 1.0),
         aspect_ratio_range=(0.5, 1.0)),
    dict(type='mmpretrain.RandomFlip', prob=0.5),
]
local_view = [
    dict(type='mmpretrain.RandomResizedCrop', scale=local_size, crop_ratio_range=(0.2, 0.7),
         aspect_ratio_range=(0.5, 1.0)),
    dict(type='mmpretrain.RandomFlip', prob=0.5),
    dict(type='mmpretrain.RandomApply', transforms=[
        dict(type='ColorJitterNp2', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)], prob=0.8),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(type='mmpretrain.Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.MultiView', num_views=[2, num_local_views], transforms=[global_view, local_view]),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None

# Fused AdamW (appendix A.1). An iteration whose loss is NaN/inf on any rank is skipped and logged (--amp keeps
# this: AutocastOptimWrapper is a SkipNonFiniteOptimWrapper). The EMA teacher's frozen tensors get one log line.
optim_wrapper = dict(type='SkipNonFiniteOptimWrapper', constructor='FrozenSummaryOptimWrapperConstructor',
                     optimizer=dict(fused=True))
default_hooks = dict(checkpoint=dict(interval=5000, save_best=None, max_keep_ckpts=3))
custom_hooks = [dict(type='TeacherEMAHook')]  # teacher <- student at iteration 0, EMA after every step
# the collapse diagnostics teacher_entropy / teacher_batch_entropy are averaged over the window like the losses
log_processor = dict(by_epoch=False, window_size=20, mean_pattern=r'.*(loss|time|data_time|grad_norm|entropy).*')
