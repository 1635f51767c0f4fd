#!/usr/bin/env python
"""308-keypoint top-down pose demo for images, folders of images or videos.

Example:
    python tools/demo/pose_demo.py configs/pose/sapiens2_1b_308kpt.py sapiens2_1b_pose.safetensors \\
        --input photos/ --output out/ --bboxes boxes.json --batch-size 8 --device cuda:0

Boxes: ``--det fasterrcnn_v2`` (a torchvision COCO person detector; ``--det-checkpoint FILE`` offline, see
``sapiens2/apis/detection.py``), or ``--bboxes`` a JSON ``{"<image file name>": [[x1, y1, x2, y2(, score)], ...]}``
or a COCO-format file (``images`` + ``annotations`` with ``bbox`` x, y, w, h); without either (the default ``--det
none``), or when nobody is found, the whole image is the box ([0, 0, w - 1, h - 1], as the released demo) and the
demo says so. Flip test: the config's ``model.test_cfg.flip_test`` (on in the bundled pose configs) unless
``--flip-test`` / ``--no-flip-test`` is given. Writes per image ``<stem>.json`` (boxes; per person the keypoints of
``--format`` with names, x, y and score) and ``<stem>.png`` (skeleton overlay of the ``--kpt-set`` keypoints, one colour
per person); a video (or a folder with ``--sequence``) gives ``<stem>.mp4`` and one ``<stem>.json`` for all frames,
with track ids (``--track``) and optional One-Euro smoothing (``--smooth``).
"""
import argparse
import os

from sapiens2.apis.demo_options import add_pose_output_args, add_track_args, finish_options
from sapiens2.apis.detection import add_detector_args, detector_from_args
from sapiens2.deployment.cli import accelerate_model, add_backend_args


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file or bundled config name (e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('checkpoint', help='.safetensors or MMEngine .pth of the whole pose model')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=None,
                        help="average with the horizontally flipped crop (default: the config's "
                             "model.test_cfg.flip_test, on in the released pose configs)")
    parser.add_argument('--batch-size', type=int, default=8, help='crops per forward pass')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    add_backend_args(parser)  # --backend eager|compile|onnxruntime, --quantize int8 (sapiens2.deployment)
    add_detector_args(parser, default='none')
    add_track_args(parser)
    add_pose_output_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    # torch / MMEngine load here, after parsing (--help answers at once)
    from sapiens2.apis.human_pass import PassSpec, finish, process_frames
    from sapiens2.apis.inference import select_device
    from sapiens2.apis.pose_inference import init_pose_model
    from sapiens2.utils.media import FrameSource
    device = select_device(args.device)
    model = init_pose_model(args.config, args.checkpoint, device=device, flip_test=args.flip_test)
    model = accelerate_model(model, args.backend, args.dtype, args.quantize)
    source = FrameSource(args.input, sequence=args.sequence, fps=args.fps)
    detector = detector_from_args(args, device)
    if detector is None:
        print('pose_demo.py: no person boxes (no --bboxes, --det none): using the whole image as the box; '
              'use --det fasterrcnn_v2 for photos with several people')
    os.makedirs(args.output, exist_ok=True)
    spec = PassSpec(tasks=['pose'], configs=dict(pose=args.config), batch_size=args.batch_size, dtype=args.dtype,
                    task_dirs=False)
    records = process_frames(spec, source, 0, len(source), args.output, models=dict(pose=model, detector=detector))
    summary = finish(spec, source, records, args.output, finish_options(args, panel=False), pose_model=model)
    if detector is not None and summary['whole_image_frames']:
        print(f"pose_demo.py: no person found in {summary['whole_image_frames']} of {summary['frames']} "
              'image(s)/frame(s): the whole image was used')
    kind = 'frame(s) of ' + source.path if source.is_sequence else 'image(s)'
    print(f"{summary['frames']} {kind} -> {args.output}")


if __name__ == '__main__':
    main()
