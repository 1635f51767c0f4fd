# The COCO-WholeBody 133-keypoint set (mmpose's `CocoWholeBodyDataset`, whose metainfo is mmpose's
# configs/_base_/datasets/coco_wholebody.py: body 17, feet 6, face 68, hands 2 x 21), evaluated with mmpose's
# `CocoWholeBodyMetric` (whole-body OKS AP/AR, keys 'coco-wholebody/AP', ...).
# Not a config on its own: a pose config applies it on top of a 308-keypoint config of its size (see
# sapiens2_1b_coco_wholebody133.py). Data: `$DATA_ROOT/coco/annotations/coco_wholebody_{train,val}_v1.0.json` and
# `{train,val}2017/`.
keypoint_set = dict(
    num_keypoints=133,  # = len(metainfo keypoint_info), the head's out_channels
    dataset_type='mmpose.CocoWholeBodyDataset',
    train_dataset=dict(type='mmpose.CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_train_v1.0.json',
                       data_prefix=dict(img='train2017/')),
    val_dataset=dict(type='mmpose.CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_val_v1.0.json',
                     data_prefix=dict(img='val2017/')),
    # ground-truth boxes: score = box score (1), no NMS (tools/test.py --bbox-file switches to detected boxes)
    evaluator=dict(type='mmpose.CocoWholeBodyMetric', score_mode='bbox', nms_mode='none', _delete_=True),
    save_best='coco-wholebody/AP')
