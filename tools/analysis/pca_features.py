"""PCA (3 components -> RGB) of foreground patch features, fitted jointly over the given images (paper figure 3):
one PNG per image (the image beside its PCA picture).

Foreground = patches on the minority side of the first principal component (or --no-fg-filter for all patches).

Example:
    python tools/analysis/pca_features.py data/people out/pca --arch sapiens2_1b --checkpoint ...
"""
import argparse
import os
import os.path as osp

from sapiens2.cli import add_backbone_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', help='image or folder')
    parser.add_argument('out_dir')
    parser.add_argument('--no-fg-filter', action='store_true', help='use every patch as foreground')
    add_backbone_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import numpy as np
    import torch

    from sapiens2.apis.feature_analysis import extract_folder, list_images, pca_rgb
    from sapiens2.cli import backbone_from_args
    feats = extract_folder(backbone_from_args(args), list_images(args.images), tuple(args.size), args.device,
                           with_patches=True)
    patches = torch.from_numpy(feats['patches'])
    fg = torch.ones(patches.shape[:3], dtype=torch.bool) if args.no_fg_filter else None
    rgb, _ = pca_rgb(patches, fg)
    os.makedirs(args.out_dir, exist_ok=True)
    H, W = args.size
    for path, pic in zip(feats['paths'], rgb):
        img = cv2.resize(cv2.imread(str(path)), (W, H))
        pic = cv2.resize((pic[..., ::-1] * 255).astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(osp.join(args.out_dir, osp.splitext(osp.basename(str(path)))[0] + '_pca.png'),
                    np.concatenate([img, pic], 1))
    print(f'wrote {len(rgb)} PCA pictures to {args.out_dir}')


if __name__ == '__main__':
    main()
