# Sapiens2-0.4B backbone (SPEC §1): C=1024, L=24, H=16, 395,450,368 parameters.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from here: `model = dict(backbone=_base_.backbone)`.
embed_dims = 1024
num_layers = 24
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_0.4b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
