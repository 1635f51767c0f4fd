# What every Sapiens2 backbone config shares (docs/architecture.md §1); configs/_base_/models/sapiens2_<size>.py set the arch.
# Task configs take `backbone` (and `embed_dims` / `num_layers`) from a size file: `model = dict(backbone=_base_.backbone)`.
backbone = dict(
    type='Sapiens2',
    arch='sapiens2_1b',
    img_size=(1024, 768),
    patch_size=16,
    out_type='featmap',
    final_norm=True,
    pos_embed_rope_dtype='bf16',
    with_cp=False)
