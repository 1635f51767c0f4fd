"""FLOPs of the pretraining student encoder with masking vs. the unmasked forward (counted, not timed).

Counts 2 x the multiply-accumulates of the linear / conv layers and the attention matmuls
(``sapiens2.utils.complexity.masked_encoder_flops``) on the meta device, so no weights are allocated and any size
(5B included) is counted in seconds.

Example:
    python tools/analysis/pretrain_flops.py --arch sapiens2_1b --size 1024 768 --mask-ratio 0.75
"""
import argparse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='sapiens2_1b')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), metavar=('H', 'W'))
    parser.add_argument('--mask-ratio', type=float, default=0.75)
    parser.add_argument('--use-tokenizer', action='store_true', help='the 4K backbone (e.g. --size 4096 3072)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.complexity import masked_encoder_flops
    r = masked_encoder_flops(args.arch, tuple(args.size), args.mask_ratio, args.use_tokenizer)
    print(f'{args.arch} {args.size[0]}x{args.size[1]} mask {args.mask_ratio:.2f}: unmasked {r["unmasked"] / 1e12:.3f} '
          f'TFLOPs, masked {r["masked"] / 1e12:.3f} TFLOPs, ratio {100 * r["ratio"]:.1f}%')
    return r


if __name__ == '__main__':
    main()
