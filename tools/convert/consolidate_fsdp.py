"""Consolidate a sharded FSDP checkpoint (the DCP directory written by ``FullyShardStrategy``, e.g.
``work_dirs/x/iter_1000.pth/``) into one ``.safetensors`` file in the released layout (``backbone.*`` +
``decode_head.*`` for task models; ``--prefix backbone.`` for a backbone-only file).

    python tools/convert/consolidate_fsdp.py work_dirs/pose_5b/iter_1000.pth pose_5b.safetensors [--dtype bf16]

Runs on one CPU process without a process group; only the model tensors are read (not the optimizer state), so
the peak memory is about the size of the output file.
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.metadata import TensorStorageMetadata

from sapiens2.utils.checkpoint import CHECKPOINT_DTYPES, save_safetensors

MODEL_KEY = 'state_dict.'  # FullyShardStrategy saves {'state_dict': model, 'optimizer': ...}
WRAPPER_PREFIXES = r'^(module\.|_orig_mod\.)|(_checkpoint_wrapped_module\.|_fsdp_wrapped_module\.)'


def consolidate_fsdp_checkpoint(ckpt_dir: str, prefix: str = '', dtype: torch.dtype = None) -> 'OrderedDict':
    """Full model state dict {name: tensor} of a DCP checkpoint directory; keys under ``prefix`` only (prefix
    removed) when given, cast to ``dtype`` when given."""
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
    out = OrderedDict()
    for name in sorted(target):
        clean = re.sub(WRAPPER_PREFIXES, '', name)
        if prefix:
            if not clean.startswith(prefix):
                continue
            clean = clean[len(prefix):]
        tensor = target[name]
        out[clean] = tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor
    if not out:
        raise KeyError(f'no model key of {ckpt_dir} starts with prefix {prefix!r}')
    return out


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='DCP checkpoint directory (e.g. work_dirs/x/iter_1000.pth)')
    parser.add_argument('out', help='output .safetensors file')
    parser.add_argument('--prefix', default='', help="keep keys under this prefix and strip it, e.g. 'backbone.'")
    parser.add_argument('--dtype', choices=sorted(CHECKPOINT_DTYPES),
                        help='cast floating tensors (default: as trained, fp32)')
    return parser.parse_args()


def main():
    args = parse_args()
    if not args.out.endswith('.safetensors'):
        raise ValueError(f'output must be a .safetensors file, got {args.out}')
    state_dict = consolidate_fsdp_checkpoint(args.checkpoint, args.prefix, CHECKPOINT_DTYPES.get(args.dtype))
    save_safetensors(state_dict, args.out, metadata=dict(format='pt', source=osp.abspath(args.checkpoint)))
    numel = sum(t.numel() for t in state_dict.values())
    print(f'wrote {args.out}: {len(state_dict)} tensors, {numel:,} values')


if __name__ == '__main__':
    main()
