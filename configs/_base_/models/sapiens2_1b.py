# Sapiens2-1B backbone (docs/architecture.md §1): C=1536, L=40, H=24, 1,455,474,176 parameters.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 1536
num_layers = 40
backbone = dict(arch='sapiens2_1b')
# The 1B-4K model: the windowed tokenizer pools 4x4 patch windows, so 4096x3072 inputs give a 64x48 grid.
backbone_4k = dict(_base_.backbone, arch='sapiens2_1b', use_tokenizer=True, img_size=(4096, 3072))
