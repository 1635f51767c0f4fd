"""Consolidate a sharded FSDP checkpoint (the DCP directory written by ``FullyShardStrategy``, e.g.
``work_dirs/x/iter_1000.pth/``) into one ``.safetensors`` file in the released layout (``backbone.*`` +
``decode_head.*`` for task models; ``--prefix backbone.`` for a backbone-only file).

    python tools/convert/consolidate_fsdp.py work_dirs/pose_5b/iter_1000.pth pose_5b.safetensors [--dtype bf16]

Runs on one CPU process without a process group; only the model tensors are read (not the optimizer state), so
the peak memory is about the size of the output file.
"""
import argparse
import os.path as osp

from sapiens2.cli import CHECKPOINT_DTYPE_NAMES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='DCP checkpoint directory (e.g. work_dirs/x/iter_1000.pth)')
    parser.add_argument('out', help='output .safetensors file')
    parser.add_argument('--prefix', default='', help="keep keys under this prefix and strip it, e.g. 'backbone.'")
    parser.add_argument('--dtype', choices=CHECKPOINT_DTYPE_NAMES,
                        help='cast floating tensors (default: as trained, fp32)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.safetensors'):
        raise ValueError(f'output must be a .safetensors file, got {args.out}')
    from sapiens2.utils.checkpoint import CHECKPOINT_DTYPES, save_safetensors
    from sapiens2.utils.checkpoint_conversion import consolidate_fsdp_checkpoint
    state_dict = consolidate_fsdp_checkpoint(args.checkpoint, args.prefix, CHECKPOINT_DTYPES.get(args.dtype))
    save_safetensors(state_dict, args.out, metadata=dict(format='pt', source=osp.abspath(args.checkpoint)))
    numel = sum(t.numel() for t in state_dict.values())
    print(f'wrote {args.out}: {len(state_dict)} tensors, {numel:,} values')


if __name__ == '__main__':
    main()
