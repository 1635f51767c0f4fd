# Sapiens2-5b pretraining at 1024×768 (appendix A.1 recipe; see configs/pretrain/_base_/pretrain.py).
_base_ = ['../_base_/models/sapiens2_5b.py', './_base_/pretrain.py', '../_base_/strategies/fsdp.py']

model = dict(backbone=dict(_base_.backbone, with_cp=True))
