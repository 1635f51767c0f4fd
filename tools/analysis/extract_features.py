"""Extract [CLS] (and optionally patch) features of every image in a folder with a Sapiens2 backbone -> .npz.

Example:
    python tools/analysis/extract_features.py data/humans feats.npz --arch sapiens2_1b \
        --checkpoint ~/sapiens2_host/pretrain/sapiens2_1b_pretrain.safetensors
"""
import argparse

import cv2
import numpy as np
import torch
from tqdm import tqdm

from sapiens2.apis.feature_analysis import extract_features, init_backbone, list_images, parse_arch, preprocess


def add_backbone_args(parser):
    parser.add_argument('--arch', default='sapiens2_1b', type=parse_arch,
                        help='sapiens2_{0.1b,0.4b,0.8b,1b,5b}, a JSON dict, or a config whose (model.)backbone.arch '
                             'to use, e.g. configs/pretrain/sapiens2_tiny_pretrain_cpu.py')
    parser.add_argument('--checkpoint', default=None, help='backbone .safetensors / .pth (random init if omitted)')
    parser.add_argument('--prefix', default='', help="key prefix inside the checkpoint, e.g. 'backbone.'")
    parser.add_argument('--use-tokenizer', action='store_true', help='the 1B-4K backbone')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), metavar=('H', 'W'))
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')


def backbone_from_args(args):
    return init_backbone(args.arch, args.checkpoint, args.use_tokenizer, args.prefix, args.device)


def extract_folder(backbone, paths, size, device, with_patches=False):
    """-> dict(paths, cls [N, C], patches [N, h, w, C] when asked); unreadable images are skipped."""
    out = dict(paths=[], cls=[], patches=[])
    for path in tqdm(paths, desc='features'):
        img = cv2.imread(path)
        if img is None:
            tqdm.write(f'skipping unreadable image {path}')
            continue
        feats = extract_features(backbone, preprocess(img, size).to(device))
        out['paths'].append(path)
        out['cls'].append(feats['cls'][0].float().cpu().numpy())
        if with_patches:
            out['patches'].append(feats['patches'][0].float().cpu().numpy())
    if not out['paths']:
        raise ValueError('no readable images')
    result = dict(paths=np.array(out['paths']), cls=np.stack(out['cls']))
    if with_patches:
        result['patches'] = np.stack(out['patches'])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', help='image folder (recursive) or a single image')
    parser.add_argument('out', help='output .npz (paths, cls [N, C], patches [N, h, w, C] with --patches)')
    parser.add_argument('--patches', action='store_true', help='also store patch features')
    add_backbone_args(parser)
    args = parser.parse_args()
    result = extract_folder(backbone_from_args(args), list_images(args.images), tuple(args.size), args.device,
                            args.patches)
    np.savez(args.out, **result)
    print(f'wrote features of {len(result["paths"])} images to {args.out}')


if __name__ == '__main__':
    main()
