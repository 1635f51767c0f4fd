#!/usr/bin/env python
"""How ``e2e_x3.npz``, ``e2e_x3.json`` and ``e2e_x3_pose_head.safetensors`` were made (see README.md here).

1. ``prepare OUT``: the enlarged copy of a sample image (3× with cv2 bicubic -> 1920×1287, saved as PNG) and a COCO
   file with its ground-truth boxes ×3, in the layout the reference script reads.
2. Run the released demos on it with the reference script of the shared fixtures (in a separate environment, see
   its docstring), e.g. ``python make_release_pipeline_reference.py --mirror <sapiens2 git dir> --images OUT
   --out REF``.
3. ``pack REF``: keep the pose results whole and the dense results on every 7th row and column (float16 / uint8), and
   the pose head (the script fits its last layer to the first crop, so it differs from ``e2e_pose_head``; the
   backbone and the other heads are checked to be those of the 4-image reference).

The test rebuilds the image the same way (``enlarged_image``) and checks its md5 against ``e2e_x3.json``.
"""
import argparse
import hashlib
import json
import os.path as osp
import shutil

import cv2
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
SAMPLE = osp.join(HERE, '..', '..', '..', 'data', 'coco_wholebody_sample')
SOURCE, FACTOR, STRIDE = '000000196141.jpg', 3, 7
NAME = '000000196141_x3.png'


def enlarged_image(sample_dir: str = SAMPLE) -> np.ndarray:
    img = cv2.imread(osp.join(sample_dir, SOURCE), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    return cv2.resize(img, (w * FACTOR, h * FACTOR), interpolation=cv2.INTER_CUBIC)


def prepare(out: str) -> None:
    import os
    os.makedirs(out, exist_ok=True)
    img = enlarged_image()
    cv2.imwrite(osp.join(out, NAME), img)
    coco = json.load(open(osp.join(SAMPLE, 'test_coco_wholebody.json')))
    im = next(i for i in coco['images'] if i['file_name'] == SOURCE)
    anns = [dict(id=a['id'], image_id=a['image_id'], category_id=1, iscrowd=0, area=a['area'] * FACTOR ** 2,
                 bbox=[v * FACTOR for v in a['bbox']]) for a in coco['annotations'] if a['image_id'] == im['id']]
    im = dict(im, file_name=NAME, width=img.shape[1], height=img.shape[0])
    with open(osp.join(out, 'test_coco_wholebody.json'), 'w') as f:
        json.dump(dict(images=[im], annotations=anns, categories=coco['categories']), f)


def pack(ref: str) -> None:
    import torch
    from safetensors.torch import load_file
    for part in ('backbone', 'seg_head', 'normal_head', 'pointmap_head'):
        a, b = load_file(osp.join(ref, f'e2e_{part}.safetensors')), load_file(osp.join(HERE, f'e2e_{part}.safetensors'))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f'{part} differs'
    shutil.copyfile(osp.join(ref, 'e2e_pose_head.safetensors'), osp.join(HERE, 'e2e_x3_pose_head.safetensors'))
    stem = osp.splitext(NAME)[0]
    pose = np.load(osp.join(ref, 'e2e_pose.npz'))
    seg, normal = np.load(osp.join(ref, 'e2e_seg.npz'))[stem], np.load(osp.join(ref, 'e2e_normal.npz'))[stem]
    pointmap = np.load(osp.join(ref, 'e2e_pointmap.npz'))
    sub = (slice(None, None, STRIDE), slice(None, None, STRIDE))
    np.savez_compressed(osp.join(HERE, 'e2e_x3.npz'), bbox=pose['bbox'], keypoints=pose['keypoints'],
                        scores=pose['scores'], seg=seg[sub].astype(np.uint8), normal=normal[sub].astype(np.float16),
                        depth=pointmap[stem][sub].astype(np.float16), scale=pointmap[stem + '__scale'])
    img = enlarged_image()
    meta = dict(source=SOURCE, factor=FACTOR, interpolation='cv2.INTER_CUBIC', name=NAME,
                shape=list(img.shape), md5=hashlib.md5(img.tobytes()).hexdigest(), stride=STRIDE,
                boxes_xyxy=pose['bbox'].tolist(), pose_head='e2e_x3_pose_head.safetensors',
                note='dense arrays: the release outputs at the enlarged size on rows and columns 0, 7, 14, ...')
    with open(osp.join(HERE, 'e2e_x3.json'), 'w') as f:
        json.dump(meta, f, indent=1)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('step', choices=['prepare', 'pack'])
    p.add_argument('folder', help='prepare: output folder of the image + COCO file; pack: the reference output')
    args = p.parse_args()
    prepare(args.folder) if args.step == 'prepare' else pack(args.folder)
