"""Extract [CLS] (and optionally patch) features of every image in a folder with a Sapiens2 backbone -> .npz.

Example:
    python tools/analysis/extract_features.py data/humans feats.npz --arch sapiens2_1b \
        --checkpoint ~/sapiens2_host/pretrain/sapiens2_1b_pretrain.safetensors
"""
import argparse

from sapiens2.cli import add_backbone_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', help='image folder (recursive) or a single image')
    parser.add_argument('out', help='output .npz (paths, cls [N, C], patches [N, h, w, C] with --patches)')
    parser.add_argument('--patches', action='store_true', help='also store patch features')
    add_backbone_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    from sapiens2.apis.feature_analysis import extract_folder, list_images
    from sapiens2.cli import backbone_from_args
    backbone = backbone_from_args(args)
    result = extract_folder(backbone, list_images(args.images), tuple(args.size), args.device, args.patches)
    np.savez(args.out, **result)
    print(f'wrote features of {len(result["paths"])} images to {args.out}')


if __name__ == '__main__':
    main()
