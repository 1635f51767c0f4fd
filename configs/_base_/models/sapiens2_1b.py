# Sapiens2-1B backbone (SPEC §1): C=1536, L=40, H=24, 1,455,474,176 parameters.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from here: `model = dict(backbone=_base_.backbone)`.
embed_dims = 1536
num_layers = 40
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_1b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
# The 1B-4K model: the windowed tokenizer pools 4x4 patch windows, so 4096x3072 inputs give a 64x48 grid.
backbone_4k = dict(backbone, use_tokenizer=True, img_size=(4096, 3072))
