# Shared by the normal / pointmap / albedo configs: schedule, input size, normalisation, loader settings.
# Training: random scale / shift / rotation and flip (targets kept consistent), photometric distortion, letterbox
# resize to 1024×768 (W 768, H 1024) with recorded padding. Testing: letterbox the image only; predictions are
# mapped back to the original size (exact inverse) and compared with the original-size targets.
_base_ = ['../../_base_/schedules/adamw_warmup_linear.py']

image_size = (768, 1024)  # (W, H)
data_preprocessor = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True)
train_dataloader = dict(batch_size=4, num_workers=4, persistent_workers=True,
                        sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = dict(batch_size=1, num_workers=2, persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
