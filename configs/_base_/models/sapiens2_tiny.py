# A tiny Sapiens2 backbone (C=32, L=2) for CPU smoke runs on synthetic data (tests, quickstart); not a released size.
_base_ = ['./sapiens2_backbone.py']
embed_dims = 32
num_layers = 2
backbone = dict(
    _base_.backbone,
    _delete_=True,  # the arch is a dict here, a name in the base
    arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1),
    img_size=(128, 96))
