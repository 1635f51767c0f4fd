#!/usr/bin/env python
"""Run an exported Sapiens2 ONNX file on images with onnxruntime, numpy and OpenCV only (no torch, no MMEngine).

    python tools/deployment/onnx_infer.py MODEL.onnx --input IMAGE_OR_DIR --output OUT \\
        [--bboxes boxes.json] [--flip-test | --no-flip-test] [--kpt-thr 0.3] [--batch-size 8] [--threads N] \\
        [--save-pred] [--fg-mask DIR]

The file carries its preprocessing and post-processing spec (written by tools/deployment/export.py). Outputs are
those of the demos: pose ``<stem>.json`` (boxes; per person the 308 keypoints with names, x, y, score) and a
skeleton overlay ``<stem>.png``; dense tasks ``<stem>.png`` (seg overlay / normals / depth colour map / albedo) and,
with ``--save-pred``, ``<stem>.npy`` (+ ``<stem>.ply`` and ``<stem>_scale.txt`` for the pointmap).
Boxes: ``{"<file name>": [[x1, y1, x2, y2], ...]}`` or a COCO-format file; none = the whole image.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _import_checkout_package():
    """Register this checkout's ``sapiens2`` package (its ``__init__`` imports nothing heavy) so that the torch-free
    modules below import as usual on a machine with onnxruntime, numpy and OpenCV only, where the package (which
    requires torch) is not installed."""
    if 'sapiens2' not in sys.modules:
        spec = importlib.util.spec_from_file_location('sapiens2', osp.join(_ROOT, 'sapiens2', '__init__.py'))
        package = importlib.util.module_from_spec(spec)
        sys.modules['sapiens2'] = package
        spec.loader.exec_module(package)


_import_checkout_package()
from sapiens2.deployment import onnx_runtime as ort_rt  # noqa: E402  (numpy, OpenCV, onnxruntime)
from sapiens2.image_files import list_images  # noqa: E402
from sapiens2.visualization import dense_visualization as dense_vis  # noqa: E402  (numpy, OpenCV)
from sapiens2.visualization import pose_visualization as pose_vis  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='.onnx file exported by tools/deployment/export.py')
    parser.add_argument('--input', required=True, help='an image or a folder of images')
    parser.add_argument('--output', required=True)
    parser.add_argument('--bboxes', default=None, help='pose: JSON of person boxes per image')
    parser.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=None,
                        help="pose: average with the flipped crop (default: the export's test_cfg)")
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--threads', type=int, default=None, help='onnxruntime intra-op threads')
    parser.add_argument('--save-pred', action='store_true', help='dense: also write .npy (.ply)')
    parser.add_argument('--fg-mask', default=None, help='dense: folder of person masks <stem>.png')
    return parser.parse_args(argv)


def load_bboxes(path):
    """The pose demo's box formats -> {file name: [N, 4] x1, y1, x2, y2}."""
    if path is None:
        return {}
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict) and 'annotations' in data and 'images' in data:
        names = {img['id']: img['file_name'] for img in data['images']}
        boxes = {}
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            if w > 0 and h > 0:
                boxes.setdefault(osp.basename(names[ann['image_id']]), []).append([x, y, x + w, y + h])
        return {k: np.array(v, np.float32) for k, v in boxes.items()}
    return {osp.basename(k): np.array(v, np.float32).reshape(-1, len(v[0]) if v else 4)[:, :4]
            for k, v in data.items()}


def pose_json(result, names):
    people = []
    for box, kpts, scores in zip(result['bboxes'], result['keypoints'], result['keypoint_scores']):
        people.append(dict(bbox=[float(v) for v in box[:4]],
                           keypoints=[dict(name=n, x=float(k[0]), y=float(k[1]), score=float(s))
                                      for n, k, s in zip(names, kpts, scores)]))
    return people


def save_dense(task, img, pred, stem, out_dir, save_pred, mask, spec):
    if task == 'seg':
        labels = pred['labels'] if mask is None else np.where(mask, pred['labels'], 0)
        picture = dense_vis.seg_overlay(img, labels, spec['palette'], spec['classes'])
        raw = labels.astype(np.uint8)
    elif task == 'normal':
        picture, raw = dense_vis.normal_to_bgr(pred['normal'], mask), pred['normal']
    elif task == 'pointmap':
        picture, raw = dense_vis.depth_to_colormap(pred['metric_pointmap'][..., 2], mask), pred['pointmap']
        if save_pred:
            dense_vis.save_point_cloud_ply(osp.join(out_dir, stem + '.ply'), pred['metric_pointmap'], img, mask)
            with open(osp.join(out_dir, stem + '_scale.txt'), 'w') as f:
                f.write(f"{pred['scale']:.6f}\n")
    else:
        albedo = pred['albedo'] if mask is None else pred['albedo'] * mask[..., None]
        picture, raw = dense_vis.albedo_side_by_side(img, albedo), albedo
    cv2.imwrite(osp.join(out_dir, stem + '.png'), picture)
    if save_pred:
        np.save(osp.join(out_dir, stem + '.npy'), raw)


def main(argv=None):
    args = parse_args(argv)
    predictor = ort_rt.OnnxPredictor(args.model, threads=args.threads, batch_size=args.batch_size)
    spec, task = predictor.spec, predictor.task
    files = list_images(args.input)
    os.makedirs(args.output, exist_ok=True)
    if task == 'backbone':
        raise SystemExit('a bare backbone export has no task output; run it with OnnxNetwork')
    if task == 'pose':
        boxes = load_bboxes(args.bboxes)
        for path in files:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise OSError(f'cannot read image {path}')
            result = predictor.predict_pose(img, boxes.get(osp.basename(path)), args.flip_test)
            stem = osp.splitext(osp.basename(path))[0]
            with open(osp.join(args.output, stem + '.json'), 'w') as f:
                json.dump(dict(image=path, people=pose_json(result, spec['keypoint_names'])), f)
            picture = pose_vis.draw_pose(img, result['keypoints'], result['keypoint_scores'], spec['skeleton_links'],
                                         spec.get('skeleton_link_colors'), spec.get('keypoint_colors'),
                                         bboxes=result['bboxes'], kpt_thr=args.kpt_thr)
            cv2.imwrite(osp.join(args.output, stem + '.png'), picture)
    else:
        if task == 'seg' and not ('palette' in spec and 'classes' in spec):
            raise KeyError('the export has no seg classes / palette for the legend')
        for start in range(0, len(files), args.batch_size):
            chunk = files[start:start + args.batch_size]
            imgs = [cv2.imread(f, cv2.IMREAD_COLOR) for f in chunk]
            for f, img in zip(chunk, imgs):
                if img is None:
                    raise OSError(f'cannot read image {f}')
            for f, img, pred in zip(chunk, imgs, predictor.predict_dense(imgs)):
                stem = osp.splitext(osp.basename(f))[0]
                mask = None
                if args.fg_mask:
                    m = cv2.imread(osp.join(args.fg_mask, stem + '.png'), cv2.IMREAD_GRAYSCALE)
                    if m is None:
                        raise FileNotFoundError(f'--fg-mask: no mask for {stem}')
                    mask = m > 0
                save_dense(task, img, pred, stem, args.output, args.save_pred, mask, spec)
    print(f'{len(files)} image(s) -> {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
