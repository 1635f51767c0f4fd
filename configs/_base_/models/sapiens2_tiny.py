# A tiny Sapiens2 backbone (C=32, L=2) for CPU smoke runs on synthetic data (tests, quickstart); not a released size.
embed_dims = 32
num_layers = 2
backbone = dict(
    type='Sapiens2',
    arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1),
    img_size=(128, 96),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
