# Sapiens2-5B backbone (SPEC §1): C=2432, L=56, H=32, 5,066,902,976 parameters.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from here: `model = dict(backbone=_base_.backbone)`.
embed_dims = 2432
num_layers = 56
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_5b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
