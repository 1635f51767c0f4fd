# Sapiens2-1B body-part segmentation (29 classes) trained on LIP / CIHP masks mapped onto seg29 at load time
# (`lip_to_seg29` from sapiens2/metainfo/lip_to_seg29.json; LIP classes without a seg29 class are ignored, see README
# "Human-parsing datasets"). Folders from tools/dataset_converters/human_parsing.py in $DATA_ROOT/lip/{train,val}.
_base_ = ['./sapiens2_1b_seg29.py', '../_base_/datasets/lip.py']

data_root = '{{$DATA_ROOT:data/}}lip'
train_dataloader = dict(dataset=dict(data_root=data_root + '/train', label_map=_base_.lip_to_seg29))
val_dataloader = dict(dataset=dict(data_root=data_root + '/val', label_map=_base_.lip_to_seg29))
test_dataloader = val_dataloader
