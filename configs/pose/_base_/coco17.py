# The COCO-17 keypoint set (mmpose's `CocoDataset`, whose metainfo is mmpose's configs/_base_/datasets/coco.py: names,
# flip pairs, OKS sigmas, skeleton), evaluated with mmpose's `CocoMetric` (OKS AP/AR, keys 'coco/AP', ...).
# Not a config on its own: a pose config applies it on top of a 308-keypoint config of its size (see
# sapiens2_1b_coco17.py): head out_channels, datasets, evaluator and best-checkpoint key; everything else (backbone,
# head widths, codec, pipelines, schedule) stays the 308 recipe. Data: `$DATA_ROOT/coco/annotations/
# person_keypoints_{train,val}2017.json` and `{train,val}2017/`.
keypoint_set = dict(
    num_keypoints=17,  # = len(metainfo keypoint_info), the head's out_channels
    dataset_type='mmpose.CocoDataset',
    train_dataset=dict(type='mmpose.CocoDataset', ann_file='annotations/person_keypoints_train2017.json',
                       data_prefix=dict(img='train2017/')),
    val_dataset=dict(type='mmpose.CocoDataset', ann_file='annotations/person_keypoints_val2017.json',
                     data_prefix=dict(img='val2017/')),
    # ground-truth boxes: score = box score (1), no NMS, one prediction per GT box (tools/test.py --bbox-file switches
    # to detected boxes: score_mode='bbox_keypoint', nms_mode='oks_nms')
    evaluator=dict(type='mmpose.CocoMetric', score_mode='bbox', nms_mode='none', _delete_=True),
    save_best='coco/AP')
