# Sapiens2-0.4B backbone (docs/architecture.md §1): C=1024, L=24, H=16, 395,450,368 parameters.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 1024
num_layers = 24
backbone = dict(arch='sapiens2_0.4b')
