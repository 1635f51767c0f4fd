# Sapiens2-0.1B backbone (docs/architecture.md §1): C=768, L=12, H=12, 113,993,472 parameters.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 768
num_layers = 12
backbone = dict(arch='sapiens2_0.1b')
