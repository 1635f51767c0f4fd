"""Export the teacher (default) or student backbone of a Sapiens2 pretraining checkpoint to the released
``sapiens2_<size>_pretrain.safetensors`` layout (backbone keys only, no prefix), loadable strictly by
``Sapiens2(..., init_cfg=dict(type='Pretrained', checkpoint=...))``.

The checkpoint is a ``.pth`` file (single process, DDP) or the sharded DCP directory an FSDP run writes (1B, 5B);
only the model tensors under the chosen prefix are read from the latter.

Example:
    python tools/convert/pretrain_to_backbone.py work_dirs/sapiens2_1b_pretrain/iter_500000.pth \
        sapiens2_1b_pretrain.safetensors --source teacher
"""
import argparse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='pretraining checkpoint (.pth / .safetensors / FSDP DCP directory)')
    parser.add_argument('out', help='output .safetensors path')
    parser.add_argument('--source', choices=('student', 'teacher'), default='teacher',
                        help='which backbone to export (default: the EMA teacher)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.checkpoint_conversion import export_backbone
    sd = export_backbone(args.checkpoint, args.out, args.source)
    print(f'wrote {len(sd)} {args.source} backbone tensors '
          f'({sum(v.numel() for v in sd.values()):,} values) to {args.out}')


if __name__ == '__main__':
    main()
