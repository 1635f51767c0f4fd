"""Export a trained MMEngine checkpoint to the released safetensors layout.

    python tools/convert/mmengine_to_safetensors.py SRC.pth DST.safetensors [--src-prefix P] [--dst-prefix Q]
                                                    [--dtype fp32|bf16|fp16]

Task models (``BaseEstimator``) already have the released key names (``backbone.*`` + ``decode_head.*``), so the
default copies the model weights as they are. ``--src-prefix`` keeps only the keys under a prefix and strips it
(e.g. ``teacher.backbone.`` exports a pretrained backbone as a backbone-only file loadable through
``init_cfg=dict(type='Pretrained', ...)``); ``--dst-prefix`` prepends one (e.g. ``backbone.``). Optimizer state,
message hub and meta are dropped; a DDP ``module.`` prefix is removed.
"""
import argparse

from sapiens2.cli import CHECKPOINT_DTYPE_NAMES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='MMEngine checkpoint (.pth)')
    parser.add_argument('dst', help='output .safetensors')
    parser.add_argument('--src-prefix', default='', help='keep only keys under this prefix and strip it')
    parser.add_argument('--dst-prefix', default='', help='prepend this prefix to every key')
    parser.add_argument('--dtype', choices=CHECKPOINT_DTYPE_NAMES, help='cast floating tensors (default: keep)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.checkpoint import read_state_dict, remap_state_dict, save_safetensors
    state_dict = remap_state_dict(read_state_dict(args.src), args.src_prefix, args.dst_prefix, args.dtype)
    save_safetensors(state_dict, args.dst, metadata=dict(format='pt'))
    numel = sum(v.numel() for v in state_dict.values())
    print(f'wrote {len(state_dict)} tensors ({numel:,} values) to {args.dst}')


if __name__ == '__main__':
    main()
