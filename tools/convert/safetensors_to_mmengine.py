"""Turn a (released) safetensors file into an MMEngine checkpoint (``{'meta': ..., 'state_dict': ...}``).

    python tools/convert/safetensors_to_mmengine.py SRC.safetensors DST.pth [--src-prefix P] [--dst-prefix Q]

The result loads with ``load_from`` / ``tools/test.py`` / :func:`mmengine.runner.load_checkpoint` (and holds no
optimizer state, so it is a starting point, not a resume point). ``--src-prefix`` / ``--dst-prefix`` as in
``mmengine_to_safetensors.py`` (e.g. ``--dst-prefix backbone.`` wraps a backbone-only file for a task model).
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='.safetensors file')
    parser.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    parser.add_argument('--src-prefix', default='', help='keep only keys under this prefix and strip it')
    parser.add_argument('--dst-prefix', default='', help='prepend this prefix to every key')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from sapiens2.utils.checkpoint import read_state_dict, remap_state_dict
    state_dict = remap_state_dict(read_state_dict(args.src), args.src_prefix, args.dst_prefix)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(meta=dict(source=osp.basename(args.src)), state_dict=state_dict), args.dst)
    print(f'wrote {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
