# Data settings shared by the tiny geometry configs (sapiens2_tiny_{normal,pointmap,albedo}_synthetic.py): 128×96
# inputs, light geometric augmentation, small CPU loaders. The values carry `tiny_` names and each tiny config builds
# its pipelines from them around its task's load/pack steps (MMEngine refuses one key in two sibling `_base_` files).
tiny_image_size = (96, 128)  # (W, H)
tiny_train_transforms = [
    dict(type='DenseRandomAffine', scale_range=(0.9, 1.1), max_shift=0.05, max_rotation=10.0, prob=0.5),
    dict(type='DenseRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='LetterboxResize', scale=tiny_image_size),
]
tiny_test_resize = dict(type='LetterboxResize', scale=tiny_image_size, resize_targets=False, size_rounding='floor')
tiny_loader = dict(batch_size=2, num_workers=0, persistent_workers=False)
