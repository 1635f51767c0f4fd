"""Person detection for the demos, without mmcv / mmdet.

A detector is any callable ``detector(img) -> Detections`` taking one BGR uint8 image [H, W, 3]. Provided:

* :class:`TorchvisionPersonDetector` - a torchvision COCO detector (Faster R-CNN v2 by default), person class only.
  Weights come from torchvision's own download-and-cache mechanism (``weights='DEFAULT'``, cached under
  ``$TORCH_HOME/hub/checkpoints``) or, offline, from a local file (``checkpoint=``: a ``.pth`` / ``.safetensors``
  state dict of the same architecture).
* :class:`FileBoxes` - boxes read from a JSON file (``--bboxes``), keyed by image / frame name.

Every detector's raw output goes through :func:`postprocess_person_boxes` (score threshold, minimum box size,
``torchvision.ops.batched_nms``, clipping to the image) and :func:`boxes_or_whole_image` supplies the released demo's
fallback, the whole image ``[0, 0, w - 1, h - 1]``, when nobody is found.

Plugging in another detector: subclass :class:`PersonDetector` (implement ``raw(img) -> (boxes [N, 4] xyxy,
scores [N])`` of persons) or register a builder with :func:`register_detector`; ``build_detector(name, ...)`` and the
demos' ``--det NAME`` then find it.

torch and torchvision are imported inside the functions, so that the demos can add :func:`add_detector_args` to their
parsers and answer ``--help`` before loading them.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np

COCO_PERSON_LABEL = 1  # torchvision COCO detectors: 0 = background, 1 = person

# torchvision COCO detectors offered by ``--det`` (name -> builder name in torchvision.models.detection). Box AP on
# COCO val2017 and GFLOPs as published by torchvision; CPU speed measured here (README "In-the-wild").
TORCHVISION_DETECTORS = {
    'fasterrcnn_v2': 'fasterrcnn_resnet50_fpn_v2',  # 46.7 box AP, 280 GFLOPs, 43.7 M params
    'retinanet_v2': 'retinanet_resnet50_fpn_v2',  # 41.5 box AP, 152 GFLOPs, 38.2 M params
    'fasterrcnn': 'fasterrcnn_resnet50_fpn',  # 37.0 box AP, 134 GFLOPs, 41.8 M params
    'fasterrcnn_mobilenet': 'fasterrcnn_mobilenet_v3_large_fpn',  # 32.8 box AP, 4.5 GFLOPs, 19.4 M params
}


@dataclass
class Detections:
    """Person boxes of one image: ``bboxes`` [N, 4] float32 (x1, y1, x2, y2 pixels), ``scores`` [N] float32;
    ``fallback`` is True when nobody was found and the whole image is the one box."""
    bboxes: np.ndarray
    scores: np.ndarray
    fallback: bool = False
    source: str = field(default='')

    def __len__(self):
        return len(self.bboxes)


def whole_image_box(h: int, w: int) -> np.ndarray:
    """The released demo's box when there is no detection: ``[[0, 0, w - 1, h - 1]]``."""
    return np.array([[0, 0, w - 1, h - 1]], np.float32)


def postprocess_person_boxes(boxes, scores, labels=None, img_shape: Optional[Tuple[int, int]] = None,
                             score_thr: float = 0.5, nms_thr: float = 0.5, min_size: float = 16.0,
                             person_label: int = COCO_PERSON_LABEL) -> Tuple[np.ndarray, np.ndarray]:
    """Raw detections -> person boxes: keep ``labels == person_label`` (all when ``labels`` is None), clip to
    ``img_shape`` (h, w), drop ``score < score_thr`` and boxes whose width or height is below ``min_size`` pixels,
    then ``torchvision.ops.batched_nms`` at IoU ``nms_thr`` (one class). Sorted by decreasing score.

    Args: boxes [N, 4] xyxy, scores [N], labels [N] (tensors or arrays).
    Returns: (boxes [M, 4] float32, scores [M] float32) numpy.
    """
    import torch
    from torchvision.ops import batched_nms
    boxes = torch.as_tensor(np.asarray(boxes, np.float32) if not torch.is_tensor(boxes) else boxes,
                            dtype=torch.float32).reshape(-1, 4).cpu()
    scores = torch.as_tensor(np.asarray(scores, np.float32) if not torch.is_tensor(scores) else scores,
                             dtype=torch.float32).reshape(-1).cpu()
    if len(boxes) != len(scores):
        raise ValueError(f'postprocess_person_boxes: {len(boxes)} boxes but {len(scores)} scores')
    keep = scores >= score_thr
    if labels is not None:
        keep &= torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels).reshape(-1).cpu() \
            == person_label
    boxes, scores = boxes[keep], scores[keep]
    if img_shape is not None:
        h, w = img_shape[:2]
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h - 1)
    big = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
    boxes, scores = boxes[big], scores[big]
    keep = batched_nms(boxes, scores, torch.zeros(len(boxes), dtype=torch.int64), nms_thr)  # sorted by score
    return boxes[keep].numpy(), scores[keep].numpy()


def boxes_or_whole_image(boxes: Optional[np.ndarray], scores: Optional[np.ndarray], h: int, w: int,
                         source: str = '') -> Detections:
    """``Detections`` of the given boxes, or of the whole image (score 0, ``fallback=True``) when there are none."""
    if boxes is None or len(boxes) == 0:
        return Detections(whole_image_box(h, w), np.zeros(1, np.float32), True, source)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(scores, np.float32).reshape(-1)
    return Detections(boxes, scores, False, source)


class PersonDetector:
    """Base class: ``raw(img)`` gives candidate person boxes; ``__call__`` post-processes them and falls back to the
    whole image. Subclasses set the thresholds through ``__init__``."""

    name = 'detector'

    def __init__(self, score_thr: float = 0.5, nms_thr: float = 0.5, min_size: float = 16.0):
        self.score_thr, self.nms_thr, self.min_size = score_thr, nms_thr, min_size

    def raw(self, img: np.ndarray):
        """BGR uint8 [H, W, 3] -> (boxes [N, 4] xyxy, scores [N]) of persons, before thresholds and NMS."""
        raise NotImplementedError

    def __call__(self, img: np.ndarray) -> Detections:
        boxes, scores = self.raw(img)
        boxes, scores = postprocess_person_boxes(boxes, scores, None, img.shape[:2], self.score_thr, self.nms_thr,
                                                 self.min_size)
        return boxes_or_whole_image(boxes, scores, *img.shape[:2], source=self.name)


def load_state_dict_file(path: str) -> Dict[str, 'torch.Tensor']:
    """A state dict from ``.safetensors`` or a torch file (bare, or under ``state_dict`` / ``model``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'--det-checkpoint {path}: no such file')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    import torch
    state = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


def build_from_file(builder, checkpoint: str, **kwargs):
    """``builder(weights='DEFAULT', **kwargs)`` with the weights read from the local ``checkpoint`` instead of
    downloaded: the model is built exactly as for torchvision's own COCO weights (frozen batch norms, their eps) and
    loaded strictly. BatchNorm ``num_batches_tracked`` counters are optional (unused in inference)."""
    import torchvision.models._api as tv_api
    state = {k: v for k, v in load_state_dict_file(checkpoint).items() if not k.endswith('num_batches_tracked')}
    original = tv_api.load_state_dict_from_url
    tv_api.load_state_dict_from_url = lambda *args, **kw: state
    try:
        return builder(weights='DEFAULT', **kwargs)
    except RuntimeError as e:
        lines = str(e).splitlines()
        raise ValueError(f'--det-checkpoint {checkpoint} does not fit {builder.__name__}: '
                         + ' '.join(line.strip() for line in lines[1:4])[:600]) from None
    finally:
        tv_api.load_state_dict_from_url = original


class TorchvisionPersonDetector(PersonDetector):
    """A torchvision COCO detector, person class only.

    Args:
        arch: a key of ``TORCHVISION_DETECTORS`` ('fasterrcnn_v2', ...) or a torchvision builder name.
        checkpoint: local state dict file (offline); None downloads torchvision's ``DEFAULT`` COCO weights into
            torch's cache (``$TORCH_HOME/hub/checkpoints``) on first use.
        input_size: the shorter side the detector resizes to (torchvision's ``min_size``; 800 by default for the
            R-CNNs). Smaller is faster and misses small people.
        proposals: R-CNN region proposals kept per image (torchvision's ``rpn_post_nms_top_n_test``, 1000 by
            default). The v2 box head runs 4 convs per proposal: 1000 proposals cost about 130 G multiply-adds; on a CPU
            100-300 proposals are much faster for a few people per image.
        device, score_thr, nms_thr, min_size: as named; ``min_size`` is the minimum box side in pixels.
    """

    def __init__(self, arch: str = 'fasterrcnn_v2', checkpoint: Optional[str] = None, device: str = 'cpu',
                 score_thr: float = 0.5, nms_thr: float = 0.5, min_size: float = 16.0,
                 input_size: Optional[int] = None, max_input_size: Optional[int] = None,
                 proposals: Optional[int] = None):
        super().__init__(score_thr, nms_thr, min_size)
        import torch
        import torchvision.models.detection as tvd
        builder_name = TORCHVISION_DETECTORS.get(arch, arch)
        builder = getattr(tvd, builder_name, None)
        if builder is None or not callable(builder):
            raise ValueError(f'--det {arch!r}: not a torchvision detector; choose one of '
                             f'{sorted(TORCHVISION_DETECTORS)} or a torchvision.models.detection builder name')
        kwargs = dict(box_score_thresh=min(score_thr, 0.05)) if 'rcnn' in builder_name else {}
        if input_size is not None:
            kwargs['min_size'] = int(input_size)
        if max_input_size is not None:
            kwargs['max_size'] = int(max_input_size)
        if proposals is not None and 'rcnn' in builder_name:
            kwargs['rpn_post_nms_top_n_test'] = int(proposals)
            kwargs['rpn_pre_nms_top_n_test'] = max(int(proposals), 1000)
        if checkpoint is None:
            model = builder(weights='DEFAULT', **kwargs)  # torchvision's download-and-cache
        else:
            model = build_from_file(builder, checkpoint, **kwargs)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.name = builder_name

    def raw(self, img: np.ndarray):
        import torch
        x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).to(self.device).permute(2, 0, 1).float() / 255
        with torch.inference_mode():
            out = self.model([x])[0]
            person = out['labels'] == COCO_PERSON_LABEL
            return out['boxes'][person].cpu(), out['scores'][person].cpu()


def read_box_file(path: str) -> Dict[str, np.ndarray]:
    """``--bboxes`` file -> {file name: [N, 5] x1, y1, x2, y2, score}. Either ``{"<file name>": [[x1, y1, x2, y2(,
    score)], ...]}`` or a COCO-format file (``images`` + ``annotations`` with ``bbox`` x, y, w, h)."""
    with open(path) as f:
        data = json.load(f)
    boxes = {}
    if isinstance(data, dict) and 'annotations' in data and 'images' in data:  # COCO format
        names = {img['id']: img['file_name'] for img in data['images']}
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            if w > 0 and h > 0:
                boxes.setdefault(osp.basename(names[ann['image_id']]), []).append(
                    [x, y, x + w, y + h, ann.get('score', 1.0)])
    elif isinstance(data, dict):
        for k, v in data.items():
            rows = [list(b[:4]) + [b[4] if len(b) > 4 else 1.0] for b in v]
            boxes[osp.basename(k)] = rows
    else:
        raise ValueError(f'--bboxes {path}: expected a JSON object {{file name: [[x1, y1, x2, y2], ...]}} or a '
                         'COCO file')
    return {k: np.array(v, np.float32).reshape(-1, 5) for k, v in boxes.items()}


class FileBoxes:
    """Boxes from a ``--bboxes`` file: ``detector(img, name)``; a name without boxes gets the whole image."""

    name = 'file'

    def __init__(self, path: str):
        self.path = path
        self.boxes = read_box_file(path)

    def __call__(self, img: np.ndarray, name: str = '') -> Detections:
        rows = self.boxes.get(osp.basename(name))
        h, w = img.shape[:2]
        if rows is None:
            return boxes_or_whole_image(None, None, h, w, source=self.name)
        return boxes_or_whole_image(rows[:, :4], rows[:, 4], h, w, source=self.name)


_BUILDERS: Dict[str, Callable[..., PersonDetector]] = {}


def register_detector(name: str, builder: Callable[..., PersonDetector]):
    """Make ``build_detector(name, **kwargs)`` / ``--det name`` call ``builder(**kwargs)``; kwargs are
    ``checkpoint, device, score_thr, nms_thr, min_size, input_size, proposals``."""
    _BUILDERS[name] = builder


def build_detector(name: Optional[str], **kwargs) -> Optional[PersonDetector]:
    """'none' / None -> None (whole image), a registered name, or a torchvision detector name."""
    if name is None or name == 'none':
        return None
    if name in _BUILDERS:
        return _BUILDERS[name](**kwargs)
    return TorchvisionPersonDetector(name, **kwargs)


def detect(detector, img: np.ndarray, name: str = '') -> Detections:
    """Run ``detector`` (a ``PersonDetector``, ``FileBoxes`` or None = whole image) on one image; detectors with
    ``takes_name = True`` (as ``FileBoxes``) also get the image's file name."""
    if detector is None:
        return boxes_or_whole_image(None, None, *img.shape[:2], source='none')
    if isinstance(detector, FileBoxes) or getattr(detector, 'takes_name', False):
        return detector(img, name)
    return detector(img)


def add_detector_args(parser, default: str = 'none'):
    """The demos' ``--det*`` / ``--bboxes`` options."""
    g = parser.add_argument_group('person detection')
    g.add_argument('--det', default=default,
                   help=f"person detector: none (whole image), {', '.join(TORCHVISION_DETECTORS)} or a torchvision "
                        f"detection builder name (default {default})")
    g.add_argument('--det-checkpoint', default=None,
                   help='local detector weights (offline); default: torchvision downloads and caches its COCO weights')
    g.add_argument('--det-score-thr', type=float, default=0.5, help='minimum person box score')
    g.add_argument('--det-nms-thr', type=float, default=0.5, help='IoU of the person-box NMS')
    g.add_argument('--det-min-size', type=float, default=16.0, help='minimum box width and height in pixels')
    g.add_argument('--det-input-size', type=int, default=None,
                   help="detector's shorter input side (torchvision min_size; default the model's, 800 for R-CNNs)")
    g.add_argument('--det-proposals', type=int, default=None,
                   help='R-CNN proposals per image (default torchvision\'s 1000; 100-300 is much faster on CPU)')
    g.add_argument('--bboxes', default=None, help='JSON of person boxes per file name, instead of a detector')
    return g


def detector_from_args(args, device: str = 'cpu'):
    """``FileBoxes`` for ``--bboxes``, else ``build_detector(--det ...)`` (None for --det none)."""
    if getattr(args, 'bboxes', None):
        return FileBoxes(args.bboxes)
    return build_detector(args.det, checkpoint=args.det_checkpoint, device=device, score_thr=args.det_score_thr,
                          nms_thr=args.det_nms_thr, min_size=args.det_min_size, input_size=args.det_input_size,
                          proposals=args.det_proposals)
