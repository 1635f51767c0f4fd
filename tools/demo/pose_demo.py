#!/usr/bin/env python
"""308-keypoint top-down pose demo for images, folders of images or videos.

Example:
    python tools/demo/pose_demo.py configs/pose/sapiens2_1b_308kpt.py sapiens2_1b_pose.safetensors \\
        --input photos/ --output out/ --bboxes boxes.json --batch-size 8 --device cuda:0

Boxes (``--bboxes``): a JSON ``{"<image file name>": [[x1, y1, x2, y2(, score)], ...]}`` or a COCO-format file
(``images`` + ``annotations`` with ``bbox`` x, y, w, h); images without boxes (and every video frame) use the whole
image ([0, 0, w - 1, h - 1], as the released demo). A person detector plugs in by writing that JSON. Flip test: the
config's ``model.test_cfg.flip_test`` (on in the bundled pose configs) unless ``--flip-test`` / ``--no-flip-test`` is
given. Writes per image ``<stem>.json`` (boxes; per person the 308 keypoints with names, x, y and score) and
``<stem>.png`` (skeleton overlay); a video gives ``<stem>.mp4`` and ``<stem>.json`` with one entry per frame.
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
from tqdm import tqdm

from sapiens2.apis.dense_inference import select_device
from sapiens2.apis.pose_inference import inference_pose, init_pose_model
from sapiens2.visualization.pose_visualization import draw_pose

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file or bundled config name (e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('checkpoint', help='.safetensors or MMEngine .pth of the whole pose model')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--bboxes', default=None, help='JSON of person boxes per image (see above)')
    parser.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=None,
                        help="average with the horizontally flipped crop (default: the config's "
                             "model.test_cfg.flip_test, on in the released pose configs)")
    parser.add_argument('--kpt-thr', type=float, default=0.3, help='score threshold for drawing')
    parser.add_argument('--batch-size', type=int, default=8, help='crops per forward pass')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    return parser.parse_args()


def load_bboxes(path):
    """-> {file name: [N, 4] x1, y1, x2, y2}."""
    if path is None:
        return {}
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict) and 'annotations' in data and 'images' in data:  # COCO format
        names = {img['id']: img['file_name'] for img in data['images']}
        boxes = {}
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            if w > 0 and h > 0:
                boxes.setdefault(osp.basename(names[ann['image_id']]), []).append([x, y, x + w, y + h])
        return {k: np.array(v, np.float32) for k, v in boxes.items()}
    if not isinstance(data, dict):
        raise ValueError(f'--bboxes {path}: expected a JSON object {{file name: [[x1, y1, x2, y2], ...]}}')
    return {osp.basename(k): np.array(v, np.float32).reshape(-1, len(v[0]) if v else 4)[:, :4]
            for k, v in data.items()}


def to_json(result, names):
    people = []
    for box, kpts, scores in zip(result['bboxes'], result['keypoints'], result['keypoint_scores']):
        people.append(dict(bbox=[float(v) for v in box[:4]],
                           keypoints=[dict(name=n, x=float(k[0]), y=float(k[1]), score=float(s))
                                      for n, k, s in zip(names, kpts, scores)]))
    return people


def draw(model, img, result, kpt_thr):
    meta = model.dataset_meta
    return draw_pose(img, result['keypoints'], result['keypoint_scores'], meta['skeleton_links'],
                     meta.get('skeleton_link_colors'), meta.get('keypoint_colors'), bboxes=result['bboxes'],
                     kpt_thr=kpt_thr)


def run_video(model, path, args, names):
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise OSError(f'cannot open video {path}')
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    stem = osp.splitext(osp.basename(path))[0]
    writer, frames = None, []
    for _ in tqdm(range(total) if total else iter(int, 1), desc='pose demo (video)', unit='frame'):
        ok, frame = cap.read()
        if not ok:
            break
        result = inference_pose(model, frame, None, batch_size=args.batch_size, dtype=args.dtype)
        frames.append(to_json(result, names))
        vis = draw(model, frame, result, args.kpt_thr)
        if writer is None:
            writer = cv2.VideoWriter(osp.join(args.output, stem + '.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                     (vis.shape[1], vis.shape[0]))
        writer.write(vis)
    cap.release()
    if writer is not None:
        writer.release()
    with open(osp.join(args.output, stem + '.json'), 'w') as f:
        json.dump(dict(video=path, frames=frames), f)
    return len(frames)


def main():
    args = parse_args()
    model = init_pose_model(args.config, args.checkpoint, device=select_device(args.device), flip_test=args.flip_test)
    names = model.dataset_meta['keypoint_id2name']
    names = [names[i] for i in range(len(names))]
    os.makedirs(args.output, exist_ok=True)
    if osp.isfile(args.input) and osp.splitext(args.input)[1].lower() in VIDEO_EXTENSIONS:
        n = run_video(model, args.input, args, names)
        print(f'{n} frame(s) -> {args.output}')
        return
    if osp.isfile(args.input):
        files = [args.input]
    elif osp.isdir(args.input):
        files = sorted(osp.join(args.input, f) for f in os.listdir(args.input)
                       if osp.splitext(f)[1].lower() in IMG_EXTENSIONS)
    else:
        raise FileNotFoundError(f'--input {args.input} is neither an image, a video nor a folder')
    if not files:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) in {args.input}')
    boxes = load_bboxes(args.bboxes)
    for path in tqdm(files, desc='pose demo', unit='image'):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'cannot read image {path}')
        result = inference_pose(model, img, boxes.get(osp.basename(path)), batch_size=args.batch_size,
                                dtype=args.dtype)
        stem = osp.splitext(osp.basename(path))[0]
        with open(osp.join(args.output, stem + '.json'), 'w') as f:
            json.dump(dict(image=path, people=to_json(result, names)), f)
        cv2.imwrite(osp.join(args.output, stem + '.png'), draw(model, img, result, args.kpt_thr))
    print(f'{len(files)} image(s) -> {args.output}')


if __name__ == '__main__':
    main()
