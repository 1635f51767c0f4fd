"""[CLS] attention maps per head (last block by default) over the image: one PNG grid per image
(the image, then one overlay per head).

Example:
    python tools/analysis/attention_maps.py demo.jpg out/attn --arch sapiens2_1b --checkpoint ...
"""
import argparse
import os
import os.path as osp

from sapiens2.cli import add_backbone_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', help='image or folder')
    parser.add_argument('out_dir')
    parser.add_argument('--block', type=int, default=-1, help='block index (negative counts from the end)')
    parser.add_argument('--columns', type=int, default=8)
    add_backbone_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import numpy as np
    from tqdm import tqdm

    from sapiens2.apis.feature_analysis import cls_attention_maps, list_images, overlay_heatmap, preprocess
    from sapiens2.cli import backbone_from_args
    backbone = backbone_from_args(args)
    os.makedirs(args.out_dir, exist_ok=True)
    for path in tqdm(list_images(args.images), desc='attention'):
        img = cv2.imread(path)
        if img is None:
            tqdm.write(f'skipping unreadable image {path}')
            continue
        img = cv2.resize(img, (args.size[1], args.size[0]))
        maps = cls_attention_maps(backbone, preprocess(img, tuple(args.size)).to(args.device), args.block)[0]
        tiles = [img] + [overlay_heatmap(img, m.cpu().numpy()) for m in maps]
        columns = min(args.columns, len(tiles))  # no empty columns when there are few heads
        while len(tiles) % columns:
            tiles.append(np.zeros_like(img))
        rows = [np.concatenate(tiles[i:i + columns], 1) for i in range(0, len(tiles), columns)]
        cv2.imwrite(osp.join(args.out_dir, osp.splitext(osp.basename(path))[0] + '_attn.png'), np.concatenate(rows))


if __name__ == '__main__':
    main()
