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
import os.path as osp

from consolidate_fsdp import consolidate_fsdp_checkpoint  # tools/convert/consolidate_fsdp.py

from sapiens2.utils.checkpoint import read_state_dict, save_safetensors, select_prefix

SOURCE_PREFIXES = dict(teacher='teacher.module.backbone.', student='backbone.')


def export_backbone(checkpoint: str, out: str, source: str = 'teacher') -> dict:
    """Write the chosen backbone of ``checkpoint`` to ``out`` (.safetensors); returns the exported state dict."""
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='pretraining checkpoint (.pth / .safetensors / FSDP DCP directory)')
    parser.add_argument('out', help='output .safetensors path')
    parser.add_argument('--source', choices=sorted(SOURCE_PREFIXES), default='teacher',
                        help='which backbone to export (default: the EMA teacher)')
    args = parser.parse_args()
    sd = export_backbone(args.checkpoint, args.out, args.source)
    print(f'wrote {len(sd)} {args.source} backbone tensors '
          f'({sum(v.numel() for v in sd.values()):,} values) to {args.out}')


if __name__ == '__main__':
    main()
