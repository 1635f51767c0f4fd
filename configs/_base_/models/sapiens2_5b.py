# Sapiens2-5B backbone (docs/architecture.md §1): C=2432, L=56, H=32, 5,066,902,976 parameters.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 2432
num_layers = 56
backbone = dict(arch='sapiens2_5b')
