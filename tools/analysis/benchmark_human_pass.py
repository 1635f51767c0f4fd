#!/usr/bin/env python
"""Images/s per stage of the human pass (detection, pose, seg, normal, pointmap, albedo) and the detector's share.

    python tools/analysis/benchmark_human_pass.py [--size tiny|0.4b|0.8b|1b|5b] [--tasks pose,seg,normal,pointmap]
        [--input data/coco_wholebody_sample] [--dtype bf16] [--batch-size 4] [--det fasterrcnn_v2]
        [--det-input-size 800] [--det-proposals 1000] [--repeat 1] [--images N] [--json out.json]

Weights are random (timing only): the task models are built from the bundled configs (``tiny``: the tiny CPU
configs), the detector is the real torchvision architecture with random weights (``--det-checkpoint`` for real
ones). A random detector finds random "people", so the detector is timed on every image while pose runs on the
images' ground-truth person boxes (``--bboxes``, default the sample's COCO file): the pose cost is that of the real
number of people. The first image of each run is a warm-up and is not counted.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

# light at import (no torch): torch and the models load in main(), after argument parsing
from sapiens2.apis.detection import Detections, FileBoxes, TorchvisionPersonDetector
from sapiens2.apis.human_pass import TASK_CONFIGS, PassSpec, build_models, check_tasks, process_frames

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# as tools/analysis/benchmark.py: keep freed memory in the heap (glibc otherwise page-faults every activation in
# again, which made bf16 on CPU slower than fp32); the script restarts itself with these unless --system-malloc
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='33554432', MALLOC_TRIM_THRESHOLD_='100000000000',
                  MALLOC_TOP_PAD_='1073741824')
TINY_CONFIGS = dict(pose='configs/pose/sapiens2_tiny_308kpt_coco_wholebody_sample.py',
                    seg='configs/seg/sapiens2_tiny_seg29_synthetic.py',
                    normal='configs/geometry/sapiens2_tiny_normal_synthetic.py',
                    pointmap='configs/geometry/sapiens2_tiny_pointmap_synthetic.py',
                    albedo='configs/geometry/sapiens2_tiny_albedo_synthetic.py')


class TimedDetector:
    """Runs ``detector`` (to time it) but hands on the file's boxes."""

    takes_name = True

    def __init__(self, detector, boxes: FileBoxes):
        self.detector, self.boxes, self.found = detector, boxes, []

    def __call__(self, img, name=''):
        dets = self.detector(img)
        self.found.append(len(dets))
        gt = self.boxes(img, name)
        return Detections(gt.bboxes, gt.scores, gt.fallback, self.detector.name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', default='tiny')
    p.add_argument('--tasks', default='pose,seg,normal,pointmap')
    p.add_argument('--input', default=osp.join(REPO, 'data', 'coco_wholebody_sample'))
    p.add_argument('--bboxes', default=osp.join(REPO, 'data', 'coco_wholebody_sample', 'test_coco_wholebody.json'))
    p.add_argument('--dtype', default='bf16', choices=['fp32', 'bf16', 'fp16'])
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=False)
    p.add_argument('--det', default='fasterrcnn_v2')
    p.add_argument('--det-checkpoint', default=None)
    p.add_argument('--det-input-size', type=int, default=None)
    p.add_argument('--det-proposals', type=int, default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--repeat', type=int, default=1, help='passes over the input (after one warm-up image)')
    p.add_argument('--images', type=int, default=None, help='only the first N images of --input')
    p.add_argument('--system-malloc', action='store_true', help="keep glibc's default malloc settings")
    p.add_argument('--json', default=None, help='write the figures to this file')
    args = p.parse_args()
    if not args.system_malloc and any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})
    import torch

    from sapiens2.utils.media import FrameSource
    tasks = check_tasks(args.tasks.split(','))
    configs = {t: (osp.join(REPO, TINY_CONFIGS[t]) if args.size == 'tiny' else TASK_CONFIGS[t].format(size=args.size))
               for t in tasks}
    spec = PassSpec(tasks=tasks, configs=configs, batch_size=args.batch_size, dtype=args.dtype,
                    flip_test=args.flip_test, task_dirs=True)
    t0 = time.perf_counter()
    models = build_models(spec, args.device)
    build_s = time.perf_counter() - t0
    ckpt = args.det_checkpoint
    if ckpt is None:  # the real architecture, random weights (offline)
        import torchvision.models.detection as tvd
        from sapiens2.apis.detection import TORCHVISION_DETECTORS
        builder = getattr(tvd, TORCHVISION_DETECTORS.get(args.det, args.det))
        ckpt = osp.join(tempfile.mkdtemp(), 'det.pth')
        torch.save(builder(weights=None, weights_backbone=None, num_classes=91).state_dict(), ckpt)
    detector = TorchvisionPersonDetector(args.det, ckpt, device=args.device, input_size=args.det_input_size,
                                         proposals=args.det_proposals)
    models['detector'] = TimedDetector(detector, FileBoxes(args.bboxes))
    source = FrameSource(args.input)
    count = len(source) if args.images is None else min(args.images, len(source))
    with tempfile.TemporaryDirectory() as out:
        process_frames(spec, source, 0, 1, out, device=args.device, models=models, progress=False)  # warm-up
        records = []
        for _ in range(args.repeat):
            records += process_frames(spec, source, 0, count, out, device=args.device, models=models)
    n = len(records)
    stages = {}
    for r in records:
        for k, v in r['times'].items():
            stages[k] = stages.get(k, 0.0) + v
    total = sum(stages.values())
    people = sum(len(r['bboxes']) for r in records)
    result = dict(size=args.size, tasks=tasks, dtype=args.dtype, device=args.device, images=n, people=people,
                  detector=detector.name, det_input_size=args.det_input_size, det_proposals=args.det_proposals,
                  threads=torch.get_num_threads(), build_s=round(build_s, 1),
                  seconds_per_image={k: round(v / n, 3) for k, v in stages.items()},
                  images_per_s={k: round(n / v, 3) for k, v in stages.items()},
                  share={k: round(v / total, 3) for k, v in stages.items()},
                  total_images_per_s=round(n / total, 3), load_avg=os.getloadavg()[0])
    print(f"{args.size} {args.dtype} on {args.device} ({torch.get_num_threads()} threads), {n} images, {people} "
          f"people, detector {detector.name} (input {args.det_input_size or 'default'}, proposals "
          f"{args.det_proposals or 'default'})")
    print(f"{'stage':<10} {'s/img':>8} {'img/s':>8} {'share':>7}")
    for k in stages:
        print(f"{k:<10} {stages[k] / n:8.3f} {n / stages[k]:8.3f} {100 * stages[k] / total:6.1f}%")
    print(f"{'total':<10} {total / n:8.3f} {n / total:8.3f}   (load average {os.getloadavg()[0]:.1f})")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    sys.exit(main() and 0)
