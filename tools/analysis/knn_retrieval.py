"""[CLS] k-NN retrieval over an image folder: for each query image, a PNG row of the query and its k nearest
gallery images (cosine similarity of [CLS] features) plus a retrieval.json with the neighbours.

Example:
    python tools/analysis/knn_retrieval.py data/humans out/knn --k 5 --arch sapiens2_1b --checkpoint ...
    (--queries FOLDER: queries from another folder; default: every gallery image, itself excluded)
"""
import argparse
import json
import os
import os.path as osp

from sapiens2.cli import add_backbone_args


def tile(paths, sims, height=256):
    import cv2
    import numpy as np
    tiles = []
    for i, p in enumerate(paths):
        img = cv2.imread(p)
        img = cv2.resize(img, (int(img.shape[1] * height / img.shape[0]), height))
        label = 'query' if i == 0 else f'{sims[i - 1]:.3f}'
        cv2.putText(img, label, (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
        tiles.append(img)
    return np.concatenate(tiles, axis=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('gallery', help='gallery image folder')
    parser.add_argument('out_dir')
    parser.add_argument('--queries', default=None, help='query folder (default: the gallery, leave-one-out)')
    parser.add_argument('--k', type=int, default=5)
    add_backbone_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import torch
    from tqdm import tqdm

    from sapiens2.apis.feature_analysis import extract_folder, knn_retrieval, list_images
    from sapiens2.cli import backbone_from_args
    backbone = backbone_from_args(args)
    gallery = extract_folder(backbone, list_images(args.gallery), tuple(args.size), args.device)
    queries = gallery if args.queries is None else extract_folder(backbone, list_images(args.queries),
                                                                  tuple(args.size), args.device)
    sims, idx = knn_retrieval(torch.from_numpy(queries['cls']), torch.from_numpy(gallery['cls']), args.k,
                              exclude_self=args.queries is None)
    os.makedirs(args.out_dir, exist_ok=True)
    records = []
    for q, path in enumerate(tqdm(queries['paths'], desc='pictures')):
        neighbours = [str(gallery['paths'][j]) for j in idx[q].tolist()]
        records.append(dict(query=str(path), neighbours=neighbours, similarities=sims[q].tolist()))
        cv2.imwrite(osp.join(args.out_dir, f'{q:05d}_{osp.splitext(osp.basename(path))[0]}.png'),
                    tile([str(path)] + neighbours, sims[q].tolist()))
    with open(osp.join(args.out_dir, 'retrieval.json'), 'w') as f:
        json.dump(records, f, indent=1)
    print(f'wrote {len(records)} retrieval pictures to {args.out_dir}')


if __name__ == '__main__':
    main()
