# Distributed data parallel (the 0.4b / 0.8b recipes): add this file to a config's `_base_` list.
# MMEngine's DDP through FlexibleRunner, made device agnostic (nccl on GPUs, gloo on CPU, device_ids=None on CPU).
# bf16 autocast comes from tools/train.py --amp. Launch with tools/dist_train.sh or tools/slurm_train.sh.
runner_type = 'sapiens2.Sapiens2FlexibleRunner'  # FlexibleRunner with a strict load_from report
strategy = dict(
    type='sapiens2.DeviceAgnosticDDPStrategy',
    model_wrapper=dict(type='MMDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False))
