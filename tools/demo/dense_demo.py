#!/usr/bin/env python
"""Dense-task demo: segmentation, normals, pointmap (depth + point cloud), albedo or matting for images.

Example:
    python tools/demo/dense_demo.py configs/geometry/sapiens2_1b_normal.py normal_1b.safetensors \\
        --input photos/ --output out/ --save-pred --batch-size 4 --device cuda:0 --fg-mask masks/

The task comes from the config's model. Writes per image: ``<stem>.png`` (seg overlay with class legend / normals
as RGB / depth colour map / input | albedo), with ``--save-pred`` also ``<stem>.npy`` (labels H×W, normals H×W×3,
canonical pointmap H×W×3 — plus ``<stem>_scale.txt`` and ``<stem>.ply`` metric point cloud —, albedo H×W×3).
Matting writes ``<stem>.png`` (the predicted foreground composited over a checkerboard), ``<stem>_alpha.png`` (8-bit
alpha) and with ``--save-pred`` ``<stem>.npy`` (alpha H×W float32 in [0, 1]); images only (no video / detector).
``--fg-mask DIR`` takes ``DIR/<stem>.png`` (> 0 = person) and blanks everything else.
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
from tqdm import tqdm

# argument helpers only: torch / MMEngine load after parsing (in main), so that --help answers at once
from sapiens2.apis.demo_options import add_track_args, finish_options
from sapiens2.apis.detection import add_detector_args, detector_from_args
from sapiens2.deployment.cli import accelerate_model, add_backend_args


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file or bundled config name (e.g. seg/sapiens2_1b_seg29)')
    parser.add_argument('checkpoint', help='.safetensors or MMEngine .pth of the whole task model')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--save-pred', action='store_true', help='also write the raw predictions (.npy, .ply)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    add_backend_args(parser)  # --backend eager|compile|onnxruntime, --quantize int8 (sapiens2.deployment)
    parser.add_argument('--fg-mask', default=None, help='folder of person masks <stem>.png')
    add_detector_args(parser, default='none')
    add_track_args(parser)
    return parser.parse_args()


def read_mask(mask_dir, stem, shape):
    if mask_dir is None:
        return None
    path = osp.join(mask_dir, stem + '.png')
    mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(f'--fg-mask: no mask {path} for image {stem}')
    if mask.shape != shape:
        raise ValueError(f'--fg-mask: mask {path} is {mask.shape}, the image is {shape}')
    return mask > 0


def save_outputs(task, img, pred, stem, out_dir, save_pred, mask, meta):
    from sapiens2.visualization.dense_visualization import (albedo_side_by_side, depth_to_colormap, normal_to_bgr,
                                                            save_point_cloud_ply, seg_overlay)
    from sapiens2.visualization.matting_visualization import alpha_to_png, composite_bgr
    if task == 'seg':
        labels = pred['labels'] if mask is None else np.where(mask, pred['labels'], 0)
        picture = seg_overlay(img, labels, meta['palette'], meta['classes'])
        raw = labels.astype(np.uint8)
    elif task == 'normal':
        picture, raw = normal_to_bgr(pred['normal'], mask), pred['normal']
    elif task == 'pointmap':
        picture, raw = depth_to_colormap(pred['metric_pointmap'][..., 2], mask), pred['pointmap']
        if save_pred:
            save_point_cloud_ply(osp.join(out_dir, stem + '.ply'), pred['metric_pointmap'], img, mask)
            with open(osp.join(out_dir, stem + '_scale.txt'), 'w') as f:
                f.write(f"{pred['scale']:.6f}\n")
    elif task == 'matting':
        alpha = pred['alpha'] if mask is None else pred['alpha'] * mask
        foreground = pred['foreground'] if mask is None else pred['foreground'] * mask[..., None]
        picture, raw = composite_bgr(foreground, alpha), alpha
        cv2.imwrite(osp.join(out_dir, stem + '_alpha.png'), alpha_to_png(alpha))
    else:
        albedo = pred['albedo'] if mask is None else pred['albedo'] * mask[..., None]
        picture, raw = albedo_side_by_side(img, albedo), albedo
    cv2.imwrite(osp.join(out_dir, stem + '.png'), picture)
    if save_pred:
        np.save(osp.join(out_dir, stem + '.npy'), raw)


def run_sequence_or_detected(model, task, args):
    """A video / ``--sequence`` folder, or images with ``--det`` / ``--bboxes``: per frame ``<name>.png`` (and
    ``.npy`` with ``--save-pred``), for a sequence ``<stem>_<task>.mp4``, and ``<stem>.json`` with every frame's
    person boxes and track ids (per image ``<name>.json`` without a sequence)."""
    if args.fg_mask:
        raise ValueError('--fg-mask works on image folders without --det/--bboxes/--sequence')
    from sapiens2.apis.human_pass import PassSpec, finish, process_frames
    from sapiens2.apis.inference import select_device
    from sapiens2.utils.media import FrameSource
    source = FrameSource(args.input, sequence=args.sequence, fps=args.fps)
    os.makedirs(args.output, exist_ok=True)
    spec = PassSpec(tasks=[task], configs={task: args.config}, batch_size=args.batch_size, dtype=args.dtype,
                    save_pred=args.save_pred, task_dirs=False)
    detector = detector_from_args(args, select_device(args.device))
    records = process_frames(spec, source, 0, len(source), args.output, models={task: model, 'detector': detector})
    finish(spec, source, records, args.output, finish_options(args, panel=False),
           seg_meta=model.cfg.test_dataloader.dataset.get('metainfo') if task == 'seg' else None)
    print(f'{len(records)} frame(s) -> {args.output}')


def main():
    args = parse_args()
    from sapiens2.apis.dense_inference import dense_task, inference_dense, init_dense_model
    from sapiens2.apis.inference import select_device
    from sapiens2.utils.media import is_video, list_images
    model = init_dense_model(args.config, args.checkpoint, device=select_device(args.device))
    model = accelerate_model(model, args.backend, args.dtype, args.quantize)
    task = dense_task(model)
    meta = {}
    if task == 'seg':
        meta = model.cfg.test_dataloader.dataset.get('metainfo') or {}
        if 'palette' not in meta or 'classes' not in meta:
            raise KeyError(f'{args.config}: test_dataloader.dataset.metainfo needs classes and palette for the legend')
    if is_video(args.input) or args.sequence or args.det != 'none' or args.bboxes:
        if task == 'matting':
            raise ValueError('the matting demo takes an image or a folder of images (no video, --sequence, --det '
                             'or --bboxes)')
        run_sequence_or_detected(model, task, args)
        return
    files = list_images(args.input)
    os.makedirs(args.output, exist_ok=True)
    for start in tqdm(range(0, len(files), args.batch_size), desc=f'{task} demo', unit='batch'):
        chunk = files[start:start + args.batch_size]
        imgs = []
        for f in chunk:
            img = cv2.imread(f, cv2.IMREAD_COLOR)
            if img is None:
                raise OSError(f'cannot read image {f}')
            imgs.append(img)
        stems = [osp.splitext(osp.basename(f))[0] for f in chunk]
        preds = inference_dense(model, imgs, stems, batch_size=args.batch_size, dtype=args.dtype)
        for img, pred, stem in zip(imgs, preds, stems):
            mask = read_mask(args.fg_mask, stem, img.shape[:2])
            save_outputs(task, img, pred, stem, args.output, args.save_pred, mask, meta)
    print(f'{len(files)} image(s) -> {args.output}')


if __name__ == '__main__':
    main()
