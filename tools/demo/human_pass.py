#!/usr/bin/env python
"""Every human task in one command: detect people once, run pose / seg / normal / pointmap / albedo, mask the geometry
with the segmentation foreground, and write per-task outputs plus one panel per image (or a panel video).

Examples:
    python tools/demo/human_pass.py --tasks pose,seg,normal,pointmap --input photos/ --output out/ \\
        --pose-checkpoint sapiens2_0.4b_pose.safetensors --seg-checkpoint sapiens2_0.4b_seg.safetensors \\
        --normal-checkpoint sapiens2_0.4b_normal.safetensors --pointmap-checkpoint sapiens2_0.4b_pointmap.safetensors \\
        --size 0.4b --dtype bf16 --device cuda:0
    python tools/demo/human_pass.py --tasks pose --input clip.mp4 --output out/ --pose-checkpoint P --smooth \\
        --devices cuda:0,cuda:1

Configs default to the bundled ``pose/sapiens2_<size>_308kpt``, ``seg/sapiens2_<size>_seg29``,
``geometry/sapiens2_<size>_{normal,pointmap,albedo}``; ``--<task>-config`` takes another name or file. Every task
needs ``--<task>-checkpoint`` unless ``--random-weights`` (tests, timing). Person boxes: ``--det`` (a torchvision
COCO detector, Faster R-CNN v2 by default; ``--det-checkpoint FILE`` offline), ``--bboxes FILE`` or ``--det none``
(whole image). A video, or a folder with ``--sequence``, is tracked (stable ids) and optionally smoothed
(``--smooth``). ``--devices a,b`` splits the frames over one worker process per device (identical results).
Outputs: see ``sapiens2/apis/human_pass.py`` and the README section "In-the-wild".
"""
import argparse
import os
import os.path as osp
import sys
import time

from sapiens2.apis.demo_options import add_pose_output_args, add_track_args, finish_options
from sapiens2.apis.detection import add_detector_args
from sapiens2.apis.human_pass import TASK_CONFIGS, TASKS, PassSpec, check_tasks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tasks', default='pose,seg,normal,pointmap', help=f'comma list of {", ".join(TASKS)}')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--size', default='0.4b', help='model size of the default configs (0.4b, 0.8b, 1b, 5b)')
    for task in TASKS:
        parser.add_argument(f'--{task}-config', default=None, help=f'{task} config name or file')
        parser.add_argument(f'--{task}-checkpoint', default=None, help=f'{task} model weights (.safetensors / .pth)')
    parser.add_argument('--random-weights', action='store_true', help='allow tasks without a checkpoint (testing)')
    add_detector_args(parser, default='fasterrcnn_v2')
    add_track_args(parser)
    add_pose_output_args(parser)
    parser.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=None,
                        help="pose flip test (default: the pose config's model.test_cfg.flip_test)")
    parser.add_argument('--batch-size', type=int, default=4, help='images per dense forward, crops per pose forward')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--device', default='cpu', help='device of a single worker')
    parser.add_argument('--devices', default=None, help='comma list: one worker process per entry (cuda:0,cuda:1)')
    parser.add_argument('--threads', type=int, default=0,
                        help='CPU threads per worker (default: all cores, divided among --devices workers)')
    parser.add_argument('--save-pred', action='store_true', help='also write raw predictions (.npy, .ply)')
    parser.add_argument('--no-panel', action='store_true', help='skip the panel pictures')
    parser.add_argument('--panel-height', type=int, default=512)
    return parser.parse_args(argv)


def make_spec(args) -> PassSpec:
    tasks = check_tasks(args.tasks.split(','))
    configs, ckpts = {}, {}
    for task in tasks:
        configs[task] = getattr(args, f'{task}_config') or TASK_CONFIGS[task].format(size=args.size)
        ckpts[task] = getattr(args, f'{task}_checkpoint')
        if ckpts[task] is None and not args.random_weights:
            sys.exit(f'human_pass.py: --{task}-checkpoint is required for task {task!r} (or --random-weights)')
        if ckpts[task] is not None and not ckpts[task].startswith('hf://') and not osp.exists(ckpts[task]):
            sys.exit(f'human_pass.py: --{task}-checkpoint {ckpts[task]}: no such file')
    det_kwargs = dict(checkpoint=args.det_checkpoint, score_thr=args.det_score_thr, nms_thr=args.det_nms_thr,
                      min_size=args.det_min_size, input_size=args.det_input_size,
                      proposals=args.det_proposals)
    return PassSpec(tasks=tasks, configs=configs, checkpoints=ckpts, det=args.det, det_kwargs=det_kwargs,
                    bboxes=args.bboxes, batch_size=args.batch_size, dtype=args.dtype, flip_test=args.flip_test,
                    save_pred=args.save_pred, panel_height=args.panel_height, threads=args.threads)


def main(argv=None):
    args = parse_args(argv)
    spec = make_spec(args)
    # torch / MMEngine load here, after parsing (--help answers at once)
    from sapiens2.apis.human_pass import build_models, finish, process_frames, run_workers
    from sapiens2.utils.media import FrameSource
    source_args = dict(path=args.input, sequence=args.sequence, fps=args.fps)
    source = FrameSource(**source_args)
    os.makedirs(args.output, exist_ok=True)
    if spec.det == 'none' and not spec.bboxes:
        print('human_pass.py: no detector (--det none) and no --bboxes: using the whole image as the person box')
    t0 = time.perf_counter()
    devices = args.devices.split(',') if args.devices else [args.device]
    if len(devices) > 1:
        records = run_workers(spec, source, source_args, args.output, devices)
        models = {}
    else:
        if spec.threads:
            import torch
            torch.set_num_threads(spec.threads)
        models = build_models(spec, devices[0])
        records = process_frames(spec, source, 0, len(source), args.output, models=models)
    summary = finish(spec, source, records, args.output, finish_options(args, panel=not args.no_panel),
                     pose_model=models.get('pose'))
    if summary['whole_image_frames']:
        print(f"human_pass.py: {summary['whole_image_frames']} of {summary['frames']} frame(s) had no person box: "
              'the whole image was used')
    wall = time.perf_counter() - t0
    stages = ', '.join(f'{k} {v / max(1, summary["frames"]):.3f} s' for k, v in summary['times'].items())
    print(f"{summary['frames']} frame(s) -> {args.output} in {wall:.1f} s; per frame: {stages}"
          + (f"; {summary['tracks']} track(s)" if summary['tracks'] is not None else ''))
    return summary


if __name__ == '__main__':
    main()
