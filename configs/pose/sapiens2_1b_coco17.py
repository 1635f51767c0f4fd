# Sapiens2-1B pose on the COCO-17 keypoint set: the 1b 308-keypoint recipe with the keypoint set of
# _base_/coco17.py (head out_channels, datasets, evaluator, best-checkpoint key). Another size: change the first _base_.
_base_ = ['./sapiens2_1b_308kpt.py', './_base_/coco17.py']
model = dict(decode_head=dict(out_channels=_base_.keypoint_set.num_keypoints))
train_dataloader = dict(dataset=_base_.keypoint_set.train_dataset)
val_dataloader = dict(dataset=_base_.keypoint_set.val_dataset)
test_dataloader = val_dataloader
val_evaluator = _base_.keypoint_set.evaluator
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best=_base_.keypoint_set.save_best))
