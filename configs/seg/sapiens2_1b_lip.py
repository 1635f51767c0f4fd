# Sapiens2-1B human parsing on LIP (also CIHP: the same 20 classes) with the dataset's own class list (README
# "Human-parsing datasets"); folders from tools/dataset_converters/human_parsing.py in $DATA_ROOT/lip/{train,val}.
_base_ = ['../_base_/models/sapiens2_1b.py', './_base_/human_parsing.py', '../_base_/datasets/lip.py',
          '../_base_/strategies/fsdp.py']

data_root = '{{$DATA_ROOT:data/}}lip'
pretrained = '{{$SAPIENS_CHECKPOINT_ROOT:~/sapiens2_host}}/pretrain/sapiens2_1b_pretrain.safetensors'
model = dict(
    backbone=dict(**_base_.backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=_base_.embed_dims, num_classes=_base_.lip_num_classes))
train_pipeline = [dict(t, swap_seg_labels=_base_.lip_flip_swap_pairs) if t.type == 'DenseRandomFlip' else t
                  for t in _base_.train_pipeline]
train_dataloader = dict(
    dataset=dict(data_root=data_root + '/train', metainfo=_base_.lip_metainfo, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root + '/val', metainfo=_base_.lip_metainfo))
test_dataloader = val_dataloader
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.90))
