# Sapiens2-0.1B backbone (SPEC §1): C=768, L=12, H=12, 113,993,472 parameters.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from here: `model = dict(backbone=_base_.backbone)`.
embed_dims = 768
num_layers = 12
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_0.1b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
