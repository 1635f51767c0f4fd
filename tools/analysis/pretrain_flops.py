"""FLOPs of the pretraining student encoder with masking vs. the unmasked forward (counted, not timed).

Counts with ``torch.utils.flop_counter.FlopCounterMode`` (matmuls, convs and scaled-dot-product attention) on the
meta device, so no weights are allocated and any size (5B included) is counted in seconds.

Example:
    python tools/analysis/pretrain_flops.py --arch sapiens2_1b --size 1024 768 --mask-ratio 0.75
"""
import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from sapiens2.models.backbones import Sapiens2
from sapiens2.models.pretrain import BlockPatchMaskGenerator, Sapiens2Pretrainer, split_visible


def count_flops(fn) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


def encoder_flops(arch='sapiens2_1b', size=(1024, 768), mask_ratio=0.75, use_tokenizer=False, batch=1) -> dict:
    """Returns dict(unmasked, masked, ratio) of forward FLOPs of one student encoder pass on [batch, 3, H, W]."""
    with torch.device('meta'):
        backbone = Sapiens2(arch=arch, img_size=size, use_tokenizer=use_tokenizer, out_type='raw')
        images = torch.empty(batch, 3, *size)
    backbone.eval()
    h, w = size[0] // backbone.input_divisor, size[1] // backbone.input_divisor
    mask = BlockPatchMaskGenerator(mask_ratio=mask_ratio)(batch, h, w)  # a real pattern, on the CPU
    ids_keep = split_visible(mask)[0].to('meta')
    unmasked = count_flops(lambda: backbone(images))
    masked = count_flops(lambda: Sapiens2Pretrainer.encode(backbone, images, ids_keep))
    return dict(unmasked=unmasked, masked=masked, ratio=masked / unmasked)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='sapiens2_1b')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), metavar=('H', 'W'))
    parser.add_argument('--mask-ratio', type=float, default=0.75)
    parser.add_argument('--use-tokenizer', action='store_true', help='the 4K backbone (e.g. --size 4096 3072)')
    args = parser.parse_args()
    r = encoder_flops(args.arch, tuple(args.size), args.mask_ratio, args.use_tokenizer)
    print(f'{args.arch} {args.size[0]}x{args.size[1]} mask {args.mask_ratio:.2f}: unmasked {r["unmasked"] / 1e12:.3f} '
          f'TFLOPs, masked {r["masked"] / 1e12:.3f} TFLOPs, ratio {100 * r["ratio"]:.1f}%')


if __name__ == '__main__':
    main()
