# Fully sharded data parallel (the 1b / 5b recipes): add this file to a config's `_base_` list.
# torch FSDP2 `fully_shard` per Sapiens2 TransformerBlock (+ a root unit for patch embed, tokens, final norm, head),
# bf16 compute and bf16 gradient reduce-scatter with fp32 sharded master weights, per-block activation checkpointing,
# sharded checkpoints (a DCP directory per checkpoint; consolidate with tools/convert/consolidate_fsdp.py).
# Launch with tools/dist_train.sh or tools/slurm_train.sh. Do not combine with `--amp` (mixed precision is set here).
runner_type = 'sapiens2.Sapiens2FlexibleRunner'  # FlexibleRunner with a strict load_from report
strategy = dict(
    type='sapiens2.FullyShardStrategy',
    shard_modules=('TransformerBlock', ),
    param_dtype='bf16',
    reduce_dtype='bf16',
    activation_checkpointing=True,
    reshard_after_forward=True)
