"""Checkpoint conversions behind tools/convert: a sharded FSDP (DCP) checkpoint consolidated into one state dict,
and the teacher / student backbone of a pretraining checkpoint exported in the released layout."""
import os.path as osp
from collections import OrderedDict

import torch

from sapiens2.utils.checkpoint import (WRAPPER_PREFIXES, read_state_dict, revise_state_dict_keys, save_safetensors,
                                      select_prefix)

MODEL_KEY = 'state_dict.'  # FullyShardStrategy saves {'state_dict': model, 'optimizer': ...}
SOURCE_PREFIXES = dict(teacher='teacher.module.backbone.', student='backbone.')


def consolidate_fsdp_checkpoint(ckpt_dir: str, prefix: str = '', dtype: torch.dtype = None) -> 'OrderedDict':
    """Full model state dict {name: tensor} of a DCP checkpoint directory; keys under ``prefix`` only (prefix
    removed) when given, cast to ``dtype`` when given. Runs in one process without a process group; only the model
    tensors are read (not the optimizer state)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata
    if not osp.isfile(osp.join(ckpt_dir, '.metadata')):
        raise FileNotFoundError(f'{ckpt_dir} is not a sharded (DCP) checkpoint directory: it has no .metadata')
    metadata = dcp.FileSystemReader(ckpt_dir).read_metadata()
    target = {}
    for key, meta in metadata.state_dict_metadata.items():
        if key.startswith(MODEL_KEY) and isinstance(meta, TensorStorageMetadata):
            target[key[len(MODEL_KEY):]] = torch.empty(meta.size, dtype=meta.properties.dtype)
    if not target:
        raise KeyError(f'{ckpt_dir} holds no model tensors under {MODEL_KEY!r}; keys start with '
                       f'{sorted({k.split(".")[0] for k in metadata.state_dict_metadata})}')
    dcp.load({'state_dict': target}, checkpoint_id=ckpt_dir)  # single process: no process group needed
    clean = revise_state_dict_keys(OrderedDict((k, target[k]) for k in sorted(target)), [(WRAPPER_PREFIXES, '')])
    out = OrderedDict((k, v.to(dtype) if dtype is not None and v.is_floating_point() else v)
                      for k, v in select_prefix(clean, prefix).items())
    if not out:
        raise KeyError(f'no model key of {ckpt_dir} starts with prefix {prefix!r}')
    return out


def export_backbone(checkpoint: str, out: str, source: str = 'teacher') -> dict:
    """Write the ``source`` ('teacher': the EMA teacher, or 'student') backbone of a pretraining ``checkpoint``
    (.pth / .safetensors, or the DCP directory of an FSDP run) to ``out`` (.safetensors, released layout: backbone
    keys, no prefix); returns the exported state dict."""
    if source not in SOURCE_PREFIXES:
        raise ValueError(f'source must be one of {sorted(SOURCE_PREFIXES)}, got {source!r}')
    prefix = SOURCE_PREFIXES[source]
    if osp.isdir(checkpoint):  # FSDP: DCP directory (raises a KeyError naming the prefix if nothing is under it)
        backbone = consolidate_fsdp_checkpoint(checkpoint, prefix=prefix)
        save_safetensors(backbone, out)
        return backbone
    state = read_state_dict(checkpoint)
    backbone = select_prefix(state, prefix)
    if not backbone:
        raise KeyError(f'{checkpoint} has no keys under {prefix!r}: is it a Sapiens2Pretrainer checkpoint? '
                       f'(first keys: {list(state)[:5]})')
    save_safetensors(backbone, out)
    return backbone
