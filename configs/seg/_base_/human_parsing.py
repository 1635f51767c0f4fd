# Human parsing with a dataset's own class list (LIP / CIHP, ATR, Pascal-Person-Part; README "Human-parsing
# datasets"): the seg29 recipe (./seg29.py) with unweighted cross-entropy + Dice, on folders written by
# tools/dataset_converters/human_parsing.py. A dataset config adds `../_base_/datasets/<name>.py` (generated from
# sapiens2/metainfo/<name>.json) and binds `decode_head.num_classes`, the flip swap pairs of `train_pipeline` and the
# dataloaders' `metainfo` and `data_root`. Left unbound here: no class count (the model does not build), no flip
# swaps, no class list (evaluation fails) — never seg29's values, which would be silently wrong.
_base_ = ['./seg29.py']

model = dict(decode_head=dict(
    num_classes=None,
    loss_decode=[
        dict(type='WeightedCrossEntropyLoss', ignore_index=255, loss_weight=1.0, loss_name='loss_ce'),
        dict(type='DiceLoss', ignore_index=255, loss_weight=1.0, loss_name='loss_dice'),
    ]))
train_pipeline = [dict(t, swap_seg_labels=None) if t.type == 'DenseRandomFlip' else t for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(metainfo=dict(_delete_=True), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(metainfo=dict(_delete_=True)))
test_dataloader = val_dataloader
