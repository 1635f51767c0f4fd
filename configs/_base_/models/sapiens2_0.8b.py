# Sapiens2-0.8B backbone (SPEC §1): C=1280, L=32, H=16, 814,283,520 parameters.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from here: `model = dict(backbone=_base_.backbone)`.
embed_dims = 1280
num_layers = 32
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_0.8b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
