# Tiny 133-keypoint (COCO-WholeBody) pose model on the bundled sample: the tiny 308 config
# (sapiens2_tiny_308kpt_coco_wholebody_sample.py: C=64, L=4 backbone, 128×96 crops, 32×24 heatmaps) with the keypoint
# set of _base_/coco_wholebody133.py: mmpose's CocoWholeBodyDataset (133 keypoints read as they are, no 308 mapping)
# and CocoWholeBodyMetric (keys 'coco-wholebody/AP', ...). Trains and evaluates on CPU
# (tests/pose/test_keypoint_sets.py).
_base_ = ['./sapiens2_tiny_308kpt_coco_wholebody_sample.py', './_base_/coco_wholebody133.py']
model = dict(decode_head=dict(out_channels=_base_.keypoint_set.num_keypoints))
train_dataloader = dict(dataset=dict(type=_base_.keypoint_set.dataset_type))
val_dataloader = dict(dataset=dict(type=_base_.keypoint_set.dataset_type))
test_dataloader = val_dataloader
val_evaluator = _base_.keypoint_set.evaluator
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best=_base_.keypoint_set.save_best))
