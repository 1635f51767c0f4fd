# Sapiens2-0.8B backbone (docs/architecture.md §1): C=1280, L=32, H=16, 814,283,520 parameters.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 1280
num_layers = 32
backbone = dict(arch='sapiens2_0.8b')
