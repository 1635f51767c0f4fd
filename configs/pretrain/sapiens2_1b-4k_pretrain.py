# Sapiens2-1B-4K pretraining at 4096×3072: the windowed tokenizer pools 4×4 patch windows (64×48 token grid) and
# masking is applied after the tokenizer; MAE targets are the 64×64-pixel regions behind each token.
_base_ = ['../_base_/models/sapiens2_1b.py', './_base_/pretrain.py', '../_base_/strategies/fsdp.py']

model = dict(backbone=dict(_base_.backbone_4k, with_cp=True))
global_view = [dict(_base_.global_view[0], scale=(4096, 3072)), _base_.global_view[1]]
local_view = [dict(_base_.local_view[0], scale=(2048, 1536))] + _base_.local_view[1:]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(pipeline=[
        _base_.train_pipeline[0],
        dict(_base_.train_pipeline[1], transforms=[global_view, local_view]),
        _base_.train_pipeline[2],
    ]))
