"""One human pass over images, a folder or a video: detect people once, run the chosen task models (pose, seg,
normal, pointmap, albedo), mask the geometry with the segmentation foreground, track people across frames, smooth
their keypoints, and write per-task outputs, one JSON and one panel picture per frame.

Work is split in two so that several worker processes give the same results as one:

1. :func:`process_frames` (per frame, stateless; run by each worker on a contiguous, batch-aligned range of frames):
   detection, pose, dense predictions; writes the dense outputs and returns one record per frame
   (boxes, scores, raw keypoints, stage times).
2. :func:`finish` (main process, frames in order): tracking (:class:`~sapiens2.apis.tracking.IoUTracker`),
   One-Euro smoothing per track, ``--format`` conversion, skeleton overlays, JSON, panels and mp4s.

Output layout (``task_dirs=True``, the human pass; the pose demo writes the pose files straight into ``out_dir``)::

    <out>/pose/<name>.json|.png     per image: boxes, 308 (or --format) keypoints; skeleton overlay
    <out>/pose/<stem>.json|.mp4     per video / frame folder: every frame in one JSON; overlay video
    <out>/seg/<name>.png, <name>_labels.png    overlay with legend; class ids (uint8)
    <out>/normal/<name>.png  <out>/pointmap/<name>.png (depth)  <out>/albedo/<name>.png   foreground only
    <out>/panel/<name>.jpg (<stem>.mp4 for a sequence)   input | parts | normals | depth | albedo | skeleton
    <out>/<task>/<stem>.mp4, <out>/boxes/<stem>.json   a sequence's dense pictures as video; boxes + track ids
                                                       when there is no pose task
"""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

DENSE_TASKS = ('seg', 'normal', 'pointmap', 'albedo')
TASKS = ('pose', ) + DENSE_TASKS
# bundled config names per task; ``{size}`` in 0.4b, 0.8b, 1b, 5b
TASK_CONFIGS = dict(pose='pose/sapiens2_{size}_308kpt', seg='seg/sapiens2_{size}_seg29',
                    normal='geometry/sapiens2_{size}_normal', pointmap='geometry/sapiens2_{size}_pointmap',
                    albedo='geometry/sapiens2_{size}_albedo')
PANEL_ORDER = ('input', 'seg', 'normal', 'pointmap', 'albedo', 'pose')


@dataclass
class PassSpec:
    """Everything a worker needs to rebuild the models and run (picklable).

    configs / checkpoints: task -> bundled config name or file / checkpoint file (None: random weights).
    det: detector name ('none', 'fasterrcnn_v2', ...), det_kwargs: its options; bboxes: a ``--bboxes`` file
    (overrides ``det``).
    """
    tasks: Sequence[str]
    configs: Dict[str, str]
    checkpoints: Dict[str, Optional[str]] = field(default_factory=dict)
    det: str = 'none'
    det_kwargs: dict = field(default_factory=dict)
    bboxes: Optional[str] = None
    batch_size: int = 4
    dtype: str = 'fp32'
    flip_test: Optional[bool] = None
    save_pred: bool = False
    task_dirs: bool = True
    panel_height: int = 512
    threads: int = 0  # CPU threads per worker; 0: all cores / workers. Float results are bit-identical across
    # worker counts at equal thread counts (the reduction order of a matmul depends on its thread count)


def check_tasks(tasks: Sequence[str]) -> List[str]:
    tasks = [t.strip() for t in tasks if t.strip()]
    bad = [t for t in tasks if t not in TASKS]
    if bad or not tasks:
        raise ValueError(f'--tasks {",".join(tasks)}: unknown {bad}; choose from {", ".join(TASKS)}')
    return tasks


def build_models(spec: PassSpec, device: str) -> dict:
    """task -> model (``init_pose_model`` / ``init_dense_model``), plus 'detector'."""
    from .dense_inference import init_dense_model
    from .detection import FileBoxes, build_detector
    from .pose_inference import init_pose_model
    models = {}
    for task in spec.tasks:
        cfg, ckpt = spec.configs[task], spec.checkpoints.get(task)
        if task == 'pose':
            models[task] = init_pose_model(cfg, ckpt, device=device, flip_test=spec.flip_test)
        else:
            model = init_dense_model(cfg, ckpt, device=device)
            if getattr(model, 'task', 'seg') != task:
                raise ValueError(f'--{task}-config {cfg}: the model is a {getattr(model, "task", "seg")} model')
            models[task] = model
    models['detector'] = FileBoxes(spec.bboxes) if spec.bboxes else build_detector(
        spec.det, device=device, **spec.det_kwargs)
    return models


def _out(out_dir: str, spec: PassSpec, task: str) -> str:
    d = osp.join(out_dir, task) if spec.task_dirs else out_dir
    os.makedirs(d, exist_ok=True)
    return d


def _seg_meta(model) -> dict:
    meta = model.cfg.test_dataloader.dataset.get('metainfo') or {}
    if 'palette' not in meta or 'classes' not in meta:
        raise KeyError('seg config: test_dataloader.dataset.metainfo needs classes and palette')
    return meta


def process_frames(spec: PassSpec, source, start: int, stop: int, out_dir: str, device: str = 'cpu',
                   models: Optional[dict] = None, progress: bool = True, position: int = 0) -> List[dict]:
    """Frames ``start <= i < stop`` of ``source`` (:class:`sapiens2.utils.media.FrameSource`): detection, pose and
    dense tasks, ``spec.batch_size`` frames per dense forward. Writes the dense outputs; returns per frame
    ``dict(index, name, bboxes [N, 4], bbox_scores [N], whole_image, detector, keypoints [N, 308, 2],
    keypoint_scores [N, 308], times {stage: s})`` (no keypoints without 'pose')."""
    from sapiens2.visualization.dense_visualization import (depth_to_colormap, normal_to_bgr, save_point_cloud_ply,
                                                            seg_overlay)
    from .dense_inference import inference_dense
    from .detection import detect
    from .pose_inference import inference_pose
    models = models if models is not None else build_models(spec, device)
    records = []
    bar = tqdm(total=stop - start, desc=f'human pass [{position}]' if position else 'human pass', unit='frame',
               disable=not progress, position=position, leave=position == 0)
    frames = source.read(start, stop)
    while True:
        chunk = [f for _, f in zip(range(spec.batch_size), frames)]
        if not chunk:
            break
        for index, img in chunk:
            t0 = time.perf_counter()
            dets = detect(models['detector'], img, source.file_name(index))
            rec = dict(index=index, name=source.names[index], bboxes=dets.bboxes, bbox_scores=dets.scores,
                       whole_image=dets.fallback, detector=dets.source, shape=img.shape[:2],
                       times=dict(detection=time.perf_counter() - t0))
            if 'pose' in models:
                t0 = time.perf_counter()
                res = inference_pose(models['pose'], img, dets.bboxes, batch_size=spec.batch_size, dtype=spec.dtype)
                rec.update(keypoints=res['keypoints'].astype(np.float32),
                           keypoint_scores=res['keypoint_scores'].astype(np.float32))
                rec['times']['pose'] = time.perf_counter() - t0
            records.append(rec)
        recs = records[-len(chunk):]
        imgs = [f for _, f in chunk]
        names = [r['name'] for r in recs]
        masks = [None] * len(chunk)
        for task in DENSE_TASKS:
            if task not in models:
                continue
            t0 = time.perf_counter()
            preds = inference_dense(models[task], imgs, names, batch_size=spec.batch_size, dtype=spec.dtype)
            d = _out(out_dir, spec, task)
            for k, (img, pred, name) in enumerate(zip(imgs, preds, names)):
                if task == 'seg':
                    labels = pred['labels'].astype(np.uint8)
                    masks[k] = labels > 0
                    cv2.imwrite(osp.join(d, f'{name}_labels.png'), labels)
                    meta = _seg_meta(models['seg'])
                    cv2.imwrite(osp.join(d, f'{name}.png'), seg_overlay(img, labels, meta['palette'],
                                                                        meta['classes']))
                    continue
                mask = masks[k]
                if task == 'normal':
                    raw = pred['normal'] if mask is None else pred['normal'] * mask[..., None]
                    picture = normal_to_bgr(pred['normal'], mask)
                elif task == 'pointmap':
                    raw = pred['pointmap'] if mask is None else pred['pointmap'] * mask[..., None]
                    picture = depth_to_colormap(pred['metric_pointmap'][..., 2], mask)
                    if spec.save_pred:
                        save_point_cloud_ply(osp.join(d, f'{name}.ply'), pred['metric_pointmap'], img, mask)
                        with open(osp.join(d, f'{name}_scale.txt'), 'w') as f:
                            f.write(f"{pred['scale']:.6f}\n")
                else:
                    raw = pred['albedo'] if mask is None else pred['albedo'] * mask[..., None]
                    picture = (np.clip(raw, 0, 1) * 255).astype(np.uint8)[..., ::-1]
                cv2.imwrite(osp.join(d, f'{name}.png'), picture)
                if spec.save_pred:
                    np.save(osp.join(d, f'{name}.npy'), raw.astype(np.float32))
            share = (time.perf_counter() - t0) / len(chunk)
            for r in recs:
                r['times'][task] = share
        bar.update(len(chunk))
    bar.close()
    return records


def split_ranges(n: int, workers: int, batch_size: int) -> List[range]:
    """Contiguous frame ranges, one per worker, whose borders are multiples of ``batch_size`` (so every worker count
    forms the same batches and gives bit-identical results)."""
    batches = -(-n // batch_size)
    per = -(-batches // max(1, workers))
    ranges = []
    for w in range(workers):
        a, b = w * per * batch_size, min(n, (w + 1) * per * batch_size)
        if a < b:
            ranges.append(range(a, b))
    return ranges


def _worker(args):
    spec, source_args, rng, out_dir, device, position, threads = args
    import torch
    from sapiens2.utils.media import FrameSource
    if threads:
        torch.set_num_threads(threads)
    source = FrameSource(**source_args)
    return process_frames(spec, source, rng.start, rng.stop, out_dir, device=device, progress=True,
                          position=position)


def run_workers(spec: PassSpec, source, source_args: dict, out_dir: str, devices: Sequence[str]) -> List[dict]:
    """:func:`process_frames` over the whole source, split over one process per entry of ``devices``
    (``['cuda:0', 'cuda:1']``, or ``['cpu', 'cpu']``); records in frame order."""
    import multiprocessing as mp
    ranges = split_ranges(len(source), len(devices), spec.batch_size)
    if len(devices) == 1 or len(ranges) == 1:
        return process_frames(spec, source, 0, len(source), out_dir, device=devices[0])
    threads = spec.threads or (max(1, (os.cpu_count() or 1) // len(ranges)) if all(d == 'cpu' for d in devices)
                               else 0)
    jobs = [(spec, source_args, rng, out_dir, devices[i], i + 1, threads) for i, rng in enumerate(ranges)]
    with mp.get_context('spawn').Pool(len(jobs)) as pool:
        parts = pool.map(_worker, jobs)
    return [r for part in parts for r in part]


@dataclass
class FinishOptions:
    """Drawing and output options of :func:`finish`."""
    fmt: str = 'goliath308'
    kpt_set: Optional[str] = None  # None: the pose config's supervised set
    kpt_thr: float = 0.3
    track: bool = True
    track_iou: float = 0.3
    track_max_lost: int = 30
    smooth: bool = False
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 0.0
    panel: bool = True


def _people_json(rec, kpts, scores, names, named: bool):
    people = []
    for n in range(len(rec['bboxes'])):
        p = dict(bbox=[round(float(v), 2) for v in rec['bboxes'][n][:4]],
                 bbox_score=round(float(rec['bbox_scores'][n]), 4))
        if rec.get('track_ids') is not None:
            p['track_id'] = int(rec['track_ids'][n])
        if kpts is not None:
            if named:
                p['keypoints'] = [dict(name=nm, x=float(k[0]), y=float(k[1]), score=float(s))
                                  for nm, k, s in zip(names, kpts[n], scores[n])]
            else:
                p['keypoints'] = np.round(kpts[n], 2).tolist()
                p['keypoint_scores'] = np.round(scores[n], 4).tolist()
        people.append(p)
    return people


def _tile(picture: Optional[np.ndarray], height: int, width_of: np.ndarray, label: str) -> np.ndarray:
    h, w = width_of.shape[:2]
    tw = max(1, int(round(w * height / h)))
    if picture is None:
        picture = np.zeros((height, tw, 3), np.uint8)
    tile = cv2.resize(picture[:, :w] if picture.shape[1] > w else picture, (tw, height), interpolation=cv2.INTER_AREA)
    cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def finish(spec: PassSpec, source, records: List[dict], out_dir: str, opts: FinishOptions,
           pose_model=None, seg_meta: Optional[dict] = None) -> dict:
    """Tracking, smoothing, format conversion, overlays, JSON, panels (see the module docstring), in frame order.
    ``pose_model`` / ``seg_meta`` give the skeleton / palette (built from the configs when None).
    Returns a summary ``dict(frames, whole_image_frames, tracks, times {stage: total s})``."""
    from sapiens2.utils.keypoint_formats import keypoint_output
    from sapiens2.utils.media import VideoWriter, read_image
    from sapiens2.utils.one_euro import TrackSmoother
    from sapiens2.utils.package_files import load_config
    from sapiens2.visualization.dense_visualization import seg_overlay
    from sapiens2.visualization.pose_visualization import draw_people
    from .tracking import IoUTracker
    has_pose = 'pose' in spec.tasks
    if has_pose:
        from .inference import dataset_meta_from_config
        pose_cfg = pose_model.cfg if pose_model is not None else load_config(spec.configs['pose'])
        meta = pose_model.dataset_meta if pose_model is not None else dataset_meta_from_config(pose_cfg)
        if not meta or 'num_keypoints' not in meta:
            raise ValueError(f'pose config {spec.configs.get("pose")}: no keypoint metadata (its test_dataloader '
                             'dataset names no registered pose dataset with a metainfo file)')
        output = keypoint_output(meta, opts.fmt, opts.kpt_set, pose_cfg)
        kpt_ids, names = output.ids, output.names
    if 'seg' in spec.tasks and seg_meta is None:
        seg_meta = load_config(spec.configs['seg']).test_dataloader.dataset.metainfo
    sequence = source.is_sequence
    tracker = IoUTracker(opts.track_iou, opts.track_max_lost) if sequence and opts.track else None
    smoother = TrackSmoother(opts.smooth_min_cutoff, opts.smooth_beta) if (tracker and opts.smooth) else None
    pose_dir = _out(out_dir, spec, 'pose') if has_pose else None
    panel_dir = _out(out_dir, spec, 'panel') if opts.panel and spec.task_dirs else None
    pose_video = VideoWriter(osp.join(pose_dir, f'{source.stem}.mp4'), source.fps) if (has_pose and sequence) else None
    panel_video = VideoWriter(osp.join(panel_dir, f'{source.stem}.mp4'), source.fps) if (panel_dir and sequence) \
        else None
    dense_videos = {t: VideoWriter(osp.join(_out(out_dir, spec, t), f'{source.stem}.mp4' if spec.task_dirs
                                        else f'{source.stem}_{t}.mp4'), source.fps)
                    for t in spec.tasks if t in DENSE_TASKS and sequence}
    frames_json, times = [], {}
    whole = 0
    frames = source.read(0, len(source))
    for rec in tqdm(records, desc='overlays', unit='frame'):
        index, img = next(frames)
        if index != rec['index']:
            raise RuntimeError(f'human pass: frame {index} read, record of frame {rec["index"]} expected')
        for k, v in rec['times'].items():
            times[k] = times.get(k, 0.0) + v
        whole += bool(rec['whole_image'])
        rec['track_ids'] = tracker.update(rec['bboxes'] if not rec['whole_image'] else rec['bboxes'][:0]) \
            if tracker else None
        if tracker is not None and rec['whole_image']:
            rec['track_ids'] = np.zeros(len(rec['bboxes']), np.int64)  # the whole-image "person" is not tracked
        kpts = scores = None
        skeleton = img
        if has_pose:
            kpts = rec['keypoints']
            if smoother is not None:
                tracked = rec['track_ids'] > 0
                if tracked.any():
                    kpts = kpts.copy()
                    kpts[tracked] = smoother(rec['track_ids'][tracked], kpts[tracked], index / source.fps)
                smoother.drop(tracker.ended)
            rec['keypoints_smoothed'] = kpts
            skeleton = draw_people(img, kpts, rec['keypoint_scores'], meta['skeleton_links'], kpt_ids,
                                   None if rec['whole_image'] else rec['bboxes'], rec['track_ids'], opts.kpt_thr)
            if rec['whole_image']:
                cv2.putText(skeleton, 'no person box: whole image', (6, skeleton.shape[0] - 8),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1, cv2.LINE_AA)
            kpts, scores = output(kpts, rec['keypoint_scores'])
        for t, writer in dense_videos.items():
            writer.write(read_image(osp.join(_out(out_dir, spec, t), f"{rec['name']}.png")))
        people = _people_json(rec, kpts, scores, names if has_pose else None, named=not sequence)
        if sequence:
            frames_json.append(dict(frame=index, name=rec['name'], whole_image=bool(rec['whole_image']),
                                    people=people))
            if pose_video is not None:
                pose_video.write(skeleton)
        elif has_pose:
            with open(osp.join(pose_dir, f"{rec['name']}.json"), 'w') as f:
                json.dump(dict(image=source.files[index], format=output.fmt, detector=rec['detector'],
                               whole_image=bool(rec['whole_image']), people=people), f)
            cv2.imwrite(osp.join(pose_dir, f"{rec['name']}.png"), skeleton)
        if panel_dir:
            tiles = []
            for part in PANEL_ORDER:
                if part == 'input':
                    tiles.append(_tile(img, spec.panel_height, img, 'input'))
                elif part == 'pose' and has_pose:
                    tiles.append(_tile(skeleton, spec.panel_height, img, 'skeleton'))
                elif part == 'seg' and part in spec.tasks:
                    labels = cv2.imread(osp.join(out_dir, 'seg', f"{rec['name']}_labels.png"), cv2.IMREAD_GRAYSCALE)
                    tiles.append(_tile(seg_overlay(img, labels, seg_meta['palette'], seg_meta['classes'],
                                                   legend=False), spec.panel_height, img, 'parts'))
                elif part in spec.tasks:
                    label = dict(normal='normals', pointmap='depth', albedo='albedo')[part]
                    tiles.append(_tile(read_image(osp.join(out_dir, part, f"{rec['name']}.png")), spec.panel_height,
                                       img, label))
            panel = np.concatenate(tiles, axis=1)
            if panel_video is not None:
                panel_video.write(panel)
            else:
                cv2.imwrite(osp.join(panel_dir, f"{rec['name']}.jpg"), panel, [cv2.IMWRITE_JPEG_QUALITY, 85])
    for v in (pose_video, panel_video, *dense_videos.values()):
        if v is not None:
            v.close()
    if sequence:
        doc = dict(video=source.path if source.kind == 'video' else None,
                   frames_folder=source.path if source.kind == 'frames' else None, fps=source.fps,
                   num_frames=len(records), tracking=tracker is not None, smoothing=smoother is not None,
                   format=output.fmt if has_pose else None, keypoint_names=names if has_pose else None,
                   frames=frames_json)
        with open(osp.join(pose_dir or _out(out_dir, spec, 'boxes'), f'{source.stem}.json'), 'w') as f:
            json.dump(doc, f)
    elif not has_pose:
        d = _out(out_dir, spec, 'boxes')
        for rec in records:
            with open(osp.join(d, f"{rec['name']}.json"), 'w') as f:
                json.dump(dict(image=source.files[rec['index']], detector=rec['detector'],
                               whole_image=bool(rec['whole_image']), people=_people_json(rec, None, None, None,
                                                                                         True)), f)
    return dict(frames=len(records), whole_image_frames=whole,
                tracks=(tracker.next_id - 1) if tracker else None, times=times)
