"""Key remapping shared by ``tools/convert/mmengine_to_safetensors.py`` and ``safetensors_to_mmengine.py``."""
import re
from collections import OrderedDict

import torch

from sapiens2.utils.checkpoint import select_prefix

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)


def remap_state_dict(state_dict, src_prefix: str = '', dst_prefix: str = '', dtype: str = None):
    """Keys under ``src_prefix`` (stripped; a leading DDP ``module.`` is dropped first), renamed to
    ``dst_prefix + key``; floating tensors cast to ``dtype`` (``fp32`` / ``bf16`` / ``fp16``; None keeps them)."""
    state_dict = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    selected = select_prefix(state_dict, src_prefix)
    if not selected:
        heads = sorted({k.split('.')[0] for k in state_dict})
        raise KeyError(f'no key starts with {src_prefix!r}; top-level names in the checkpoint: {heads}')
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f'dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
    cast = DTYPES[dtype] if dtype else None
    return OrderedDict((dst_prefix + k, v.to(cast) if cast is not None and v.is_floating_point() else v)
                       for k, v in selected.items())
