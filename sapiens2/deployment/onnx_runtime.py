"""Inference from an exported ``.onnx`` file with onnxruntime, numpy and OpenCV only (no torch, no MMEngine).

The export stores a JSON spec in the ONNX metadata (key ``sapiens2``, see :mod:`sapiens2.deployment.export`): the
task, the input normalisation, the config's test-pipeline steps (without loading / packing) and the
post-processing settings. This module runs the same steps as the torch pipeline:

* pose: box -> centre/scale (``GetBBoxCenterScale``), UDP crop (``TopdownAffine`` / ``AutoInterpTopdownAffine``:
  bilinear, or area when the crop shrinks and bicubic when it enlarges), normalisation, network, flip test
  (flipped crop, heatmaps mirrored and channels swapped, averaged), UDP heatmap decoding (mmpose's DARK-UDP,
  batched over instances in numpy), crop -> image pixels; no box = the whole image ``[0, 0, w - 1, h - 1]``;
* dense: ``Resize`` / ``AutoInterpResize`` (stretch) or ``LetterboxResize`` (aspect-preserving, padded), network,
  bilinear resize to the input, normals unit-normalised at that resolution, padding cropped, pointmap smoothed
  before an enlarging resize (``test_cfg.upsample_smoothing``), resize to the original, normals unit again,
  pointmap and scale × ``letterbox_scale``.

A pipeline step this module does not know raises ``NotImplementedError`` naming it (the torch pipeline moved on:
implement it here). ``tests/deployment`` compares the two pipelines on the bundled images.
"""
import json
import math
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from sapiens2.image_geometry import letterbox_params

SPEC_KEY = 'sapiens2'
CV2_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR, bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA,
                  lanczos=cv2.INTER_LANCZOS4)


# ------------------------------------------------------------------------------------------------------ network
class OnnxNetwork:
    """An onnxruntime session of an exported network: float32 [B, 3, H, W] -> list of float32 outputs.

    A fixed-batch export is run in chunks of its batch (the last chunk padded)."""

    def __init__(self, path: str, threads: Optional[int] = None, providers: Optional[Sequence[str]] = None):
        import onnxruntime as ort
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, options, providers=list(providers or ['CPUExecutionProvider']))
        meta = self.session.get_modelmeta().custom_metadata_map
        self.spec = json.loads(meta[SPEC_KEY]) if SPEC_KEY in meta else {}
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.batch = inp.shape[0] if isinstance(inp.shape[0], int) else None
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        images = np.ascontiguousarray(images, dtype=np.float32)
        if self.batch is None or len(images) == self.batch:
            return [np.asarray(o, np.float32) for o in self.session.run(None, {self.input_name: images})]
        outs = []
        for start in range(0, len(images), self.batch):
            chunk = images[start:start + self.batch]
            n = len(chunk)
            if n < self.batch:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self.batch - n, 0)])
            outs.append([o[:n] for o in self.session.run(None, {self.input_name: chunk})])
        return [np.concatenate([o[i] for o in outs]).astype(np.float32) for i in range(len(outs[0]))]


# ------------------------------------------------------------------------------------------------ preprocessing
def bbox_xyxy2cs(bbox: np.ndarray, padding: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
    """mmpose ``bbox_xyxy2cs``: [N, 4] -> centre [N, 2], scale [N, 2] (w, h) × padding."""
    return (bbox[..., :2] + bbox[..., 2:]) * 0.5, (bbox[..., 2:] - bbox[..., :2]) * padding


def fix_aspect_ratio(bbox_scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """mmpose ``TopdownAffine._fix_aspect_ratio``."""
    w, h = np.hsplit(bbox_scale, [1])
    return np.where(w > h * aspect_ratio, np.hstack([w, w / aspect_ratio]), np.hstack([h * aspect_ratio, h]))


def get_udp_warp_matrix(center, scale, rot: float, output_size) -> np.ndarray:
    """mmpose ``get_udp_warp_matrix`` (2×3 float32)."""
    input_size = center * 2
    rot_rad = np.deg2rad(rot)
    warp_mat = np.zeros((2, 3), dtype=np.float32)
    scale_x = (output_size[0] - 1) / scale[0]
    scale_y = (output_size[1] - 1) / scale[1]
    warp_mat[0, 0] = math.cos(rot_rad) * scale_x
    warp_mat[0, 1] = -math.sin(rot_rad) * scale_x
    warp_mat[0, 2] = scale_x * (-0.5 * input_size[0] * math.cos(rot_rad) + 0.5 * input_size[1] * math.sin(rot_rad) +
                                0.5 * scale[0])
    warp_mat[1, 0] = math.sin(rot_rad) * scale_y
    warp_mat[1, 1] = math.cos(rot_rad) * scale_y
    warp_mat[1, 2] = scale_y * (-0.5 * input_size[0] * math.sin(rot_rad) - 0.5 * input_size[1] * math.cos(rot_rad) +
                                0.5 * scale[1])
    return warp_mat


def auto_interpolation(warp_mat: np.ndarray) -> int:
    """Area when the warp shrinks (smaller row norm of the linear part < 1), bicubic otherwise."""
    scale = min(np.linalg.norm(warp_mat[0, :2]), np.linalg.norm(warp_mat[1, :2]))
    return cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC


def _step_get_bbox_center_scale(results: dict, padding: float = 1.0, **_):
    center, scale = bbox_xyxy2cs(results['bbox'], padding)
    results['bbox_center'], results['bbox_scale'] = center, scale


def _topdown_affine(results: dict, input_size, use_udp: bool = False, interpolation: str = 'bilinear'):
    if not use_udp:
        raise NotImplementedError('onnx_runtime implements the UDP top-down affine only (use_udp=True)')
    w, h = input_size
    results['bbox_scale'] = fix_aspect_ratio(results['bbox_scale'], aspect_ratio=w / h)
    center, scale = results['bbox_center'][0], results['bbox_scale'][0]
    rot = float(results['bbox_rotation'][0]) if 'bbox_rotation' in results else 0.
    warp_mat = get_udp_warp_matrix(center, scale, rot, output_size=(w, h))
    flags = auto_interpolation(warp_mat) if interpolation == 'auto' else CV2_INTERP[interpolation]
    results['img'] = cv2.warpAffine(results['img'], warp_mat, (int(w), int(h)), flags=flags)
    results.update(input_size=(w, h), input_center=center, input_scale=scale)


def _step_topdown_affine(results: dict, input_size, use_udp: bool = False, **_):
    _topdown_affine(results, input_size, use_udp, 'bilinear')  # mmpose's TopdownAffine: always bilinear


def _step_auto_interp_topdown_affine(results: dict, input_size, use_udp: bool = False, interpolation: str = 'auto',
                                     **_):
    _topdown_affine(results, input_size, use_udp, interpolation)


def _stretch(results: dict, scale, interp: int):
    w, h = int(scale[0]), int(scale[1])
    img = results['img']
    oh, ow = img.shape[:2]
    results['img'] = cv2.resize(img, (w, h), interpolation=interp)
    results.update(img_shape=(h, w), scale_factor=(w / ow, h / oh))


def _step_resize(results: dict, scale, keep_ratio: bool = False, interpolation: str = 'bilinear', **_):
    if keep_ratio:
        raise NotImplementedError('onnx_runtime: Resize(keep_ratio=True) is not implemented')
    _stretch(results, scale, CV2_INTERP[interpolation])


def _step_auto_interp_resize(results: dict, scale, keep_ratio: bool = False, shrink_interpolation: str = 'area',
                             enlarge_interpolation: str = 'bicubic', **_):
    if keep_ratio:
        raise NotImplementedError('onnx_runtime: AutoInterpResize(keep_ratio=True) is not implemented')
    w = results['img'].shape[1]
    name = shrink_interpolation if int(scale[0]) < w else enlarge_interpolation
    _stretch(results, scale, CV2_INTERP[name])


def _step_letterbox_resize(results: dict, scale=(768, 1024), pad_val=0, interpolation: str = 'bilinear',
                           size_rounding: str = 'round', **_):
    img = results['img']
    h, w = img.shape[:2]
    W, H = scale
    new_hw, pad = letterbox_params((h, w), (H, W), size_rounding)
    out = cv2.resize(img, (new_hw[1], new_hw[0]), interpolation=CV2_INTERP[interpolation])
    if out.ndim < img.ndim:
        out = out[..., None]
    top, bottom, left, right = pad
    widths = ((top, bottom), (left, right)) + ((0, 0), ) * (out.ndim - 2)
    results['img'] = np.pad(out, widths, constant_values=pad_val)
    sx, sy = new_hw[1] / w, new_hw[0] / h
    results.update(img_shape=(H, W), pad_param=pad, letterbox_scale=sx, scale_factor=(sx, sy))


STEPS = dict(GetBBoxCenterScale=_step_get_bbox_center_scale, TopdownAffine=_step_topdown_affine,
             AutoInterpTopdownAffine=_step_auto_interp_topdown_affine, Resize=_step_resize,
             AutoInterpResize=_step_auto_interp_resize, LetterboxResize=_step_letterbox_resize)


def run_steps(results: dict, steps: Sequence[dict]) -> dict:
    for step in steps:
        kwargs = dict(step)
        name = kwargs.pop('type')
        if name not in STEPS:
            raise NotImplementedError(f'onnx_runtime does not implement the pipeline step {name!r} of this export '
                                      f'(known: {", ".join(STEPS)})')
        STEPS[name](results, **kwargs)
    return results


def normalise(imgs: Sequence[np.ndarray], mean, std, bgr_to_rgb: bool = True) -> np.ndarray:
    """H×W×3 uint8 images (same size) -> float32 [B, 3, H, W]: channel swap, (x - mean) / std (ImgDataPreprocessor)."""
    x = np.stack([np.ascontiguousarray(i.transpose(2, 0, 1)) for i in imgs]).astype(np.float32)
    if bgr_to_rgb:
        x = x[:, ::-1]
    mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


# ------------------------------------------------------------------------------------------ heatmap decoding
def gaussian_blur_maps(maps: np.ndarray, kernel: int) -> np.ndarray:
    """mmpose ``gaussian_blur`` over maps [N, H, W] (zero border, each map keeps its maximum). The zero-bordered maps
    are stacked into one tall image per 256 maps: a row of a map reads only its own bordered block, so one OpenCV
    call gives what a call per map gives."""
    border = (kernel - 1) // 2
    N, H, W = maps.shape
    Hp, Wp = H + 2 * border, W + 2 * border
    out = np.empty((N, H, W), np.float32)
    for s in range(0, N, 256):
        chunk = maps[s:s + 256]
        dr = np.zeros((len(chunk), Hp, Wp), np.float32)
        dr[:, border:-border, border:-border] = chunk
        dr = cv2.GaussianBlur(dr.reshape(len(chunk) * Hp, Wp), (kernel, kernel), 0).reshape(len(chunk), Hp, Wp)
        out[s:s + 256] = dr[:, border:-border, border:-border]
    origin_max = maps.reshape(N, -1).max(1)
    out *= (origin_max / out.reshape(N, -1).max(1))[:, None, None]
    return out


def udp_decode(heatmaps: np.ndarray, input_size, blur_kernel_size: int = 11) -> Tuple[np.ndarray, np.ndarray]:
    """mmpose ``UDPHeatmap.decode`` for a batch [B, K, H, W] -> (keypoints [B, K, 2] in crop-input pixels,
    scores [B, K]); ``input_size`` = (w, h) of the crop."""
    heatmaps = np.asarray(heatmaps, np.float32)
    B, K, H, W = heatmaps.shape
    flat = heatmaps.reshape(B * K, -1)
    idx = flat.argmax(1)
    vals = flat.max(1)
    locs = np.stack((idx % W, idx // W), axis=-1).astype(np.float32)
    locs[vals <= 0.] = -1
    logs = np.log(np.clip(gaussian_blur_maps(heatmaps.reshape(B * K, H, W), blur_kernel_size), 1e-3, 50.))
    n = (H + 2) * (W + 2)
    pad = np.pad(logs, ((0, 0), (1, 1), (1, 1)), mode='edge').reshape(B, K * n)  # one flat array per instance
    locs = locs.reshape(B, K, 2)
    index = (locs[..., 0] + 1 + (locs[..., 1] + 1) * (W + 2) + n * np.arange(K)).astype(int)  # [B, K]
    rows = np.arange(B)[:, None]

    def at(offset):  # mmpose reads the flat array of the instance with numpy's negative-index wrap
        return pad[rows, (index + offset) % (K * n)]
    i_, ix1, iy1, ix1y1 = at(0), at(1), at(W + 2), at(W + 3)
    ix1_y1_, ix1_, iy1_ = at(-W - 3), at(-1), at(-2 - W)
    dx, dy = 0.5 * (ix1 - ix1_), 0.5 * (iy1 - iy1_)
    dxx = ix1 - 2 * i_ + ix1_
    dyy = iy1 - 2 * i_ + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
    hessian = np.stack([dxx, dxy, dxy, dyy], -1).reshape(B, K, 2, 2) + np.finfo(np.float32).eps * np.eye(2)
    step = np.einsum('bkmn,bkn->bkm', np.linalg.inv(hessian), np.stack([dx, dy], -1))
    keypoints = (locs - step).astype(np.float32)
    keypoints = keypoints / np.array([W - 1, H - 1]) * np.asarray(input_size)
    return keypoints.astype(np.float32), vals.reshape(B, K).astype(np.float32)


def flip_back(heatmaps: np.ndarray, flip_indices: Sequence[int]) -> np.ndarray:
    """Heatmaps of flipped crops -> heatmaps of the crops: mirror the width, swap keypoint channels."""
    return heatmaps[:, list(flip_indices), :, ::-1]


# ------------------------------------------------------------------------------------------ dense post-processing
def resize_chw(x: np.ndarray, hw) -> np.ndarray:
    """Bilinear (half-pixel, as torch's ``align_corners=False``) resize of [C, h, w] to (H, W), 4 channels per
    OpenCV call."""
    H, W = int(hw[0]), int(hw[1])
    if x.shape[-2:] == (H, W):
        return x
    out = np.empty((x.shape[0], H, W), np.float32)
    for s in range(0, x.shape[0], 4):
        r = cv2.resize(np.ascontiguousarray(x[s:s + 4].transpose(1, 2, 0), dtype=np.float32), (W, H),
                       interpolation=cv2.INTER_LINEAR)
        out[s:s + 4] = (r[..., None] if r.ndim == 2 else r).transpose(2, 0, 1)
    return out


def gaussian_kernel1d(kernel_size: int, sigma: float) -> np.ndarray:
    """torchvision ``gaussian_blur``'s kernel."""
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size, dtype=np.float32)
    pdf = np.exp(-0.5 * (x / np.float32(sigma)) ** 2)
    return (pdf / pdf.sum()).astype(np.float32)


def smooth_before_upsampling(pred: np.ndarray, size, kernel_size: int = 3, sigma: float = 0.8,
                             iters: int = 4) -> np.ndarray:
    """[C, h, w]: ``iters`` reflected-border Gaussian blurs when the map is about to be enlarged to ``size``."""
    if not (size[0] > pred.shape[-2] or size[1] > pred.shape[-1]):
        return pred
    k = gaussian_kernel1d(kernel_size, sigma)
    out = np.array(pred, dtype=np.float32)
    for c in range(len(out)):
        for _ in range(int(iters)):
            out[c] = cv2.sepFilter2D(out[c], -1, k, k, borderType=cv2.BORDER_REFLECT_101)
    return out


def invert_test_resize(pred: np.ndarray, meta: dict, upsample_smoothing: Optional[dict] = None) -> np.ndarray:
    """[C, H_in, W_in] -> [C, H_ori, W_ori]: crop ``pad_param``, (smooth,) bilinear resize to ``ori_shape``."""
    top, bottom, left, right = (int(v) for v in meta.get('pad_param', (0, 0, 0, 0)))
    h, w = pred.shape[-2:]
    pred = pred[:, top:h - bottom, left:w - right]
    ori = meta['ori_shape']
    if upsample_smoothing:
        pred = smooth_before_upsampling(pred, ori[:2], **upsample_smoothing)
    return resize_chw(pred, ori[:2])


def unit(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """``F.normalize(x, dim=0, eps)`` of [3, H, W]."""
    return x / np.maximum(np.linalg.norm(x, axis=0, keepdims=True), eps)


# ------------------------------------------------------------------------------------------------------ runner
class OnnxPredictor:
    """The whole pipeline of an exported task model: ``predict_pose(img, bboxes)`` / ``predict_dense(images)`` with
    the outputs of ``sapiens2.apis.inference_pose`` / ``inference_dense``."""

    def __init__(self, path: str, threads: Optional[int] = None, providers: Optional[Sequence[str]] = None,
                 batch_size: int = 8):
        self.network = OnnxNetwork(path, threads=threads, providers=providers)
        self.spec = self.network.spec
        if not self.spec:
            raise ValueError(f'{path} has no {SPEC_KEY!r} metadata: export it with tools/deployment/export.py')
        self.task = self.spec['task']
        self.batch_size = batch_size

    def _run(self, x: np.ndarray) -> List[np.ndarray]:
        outs = [self.network(x[s:s + self.batch_size]) for s in range(0, len(x), self.batch_size)]
        return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]

    def _normalise(self, imgs):
        return normalise(imgs, self.spec['mean'], self.spec['std'], self.spec.get('bgr_to_rgb', True))

    # ------------------------------------------------------------------ pose
    def pose_crops(self, img: np.ndarray, bboxes: Optional[np.ndarray] = None) -> List[dict]:
        h, w = img.shape[:2]
        if bboxes is None or len(bboxes) == 0:
            bboxes = np.array([[0, 0, w - 1, h - 1]], dtype=np.float32)
        crops = []
        for box in np.asarray(bboxes, dtype=np.float32).reshape(-1, 4):
            results = dict(img=img, bbox=box[None], img_shape=(h, w), ori_shape=(h, w))
            crops.append(run_steps(results, self.spec['pipeline']))
        return crops

    def pose_heatmaps(self, x: np.ndarray, flip_test: Optional[bool] = None) -> np.ndarray:
        flip_test = self.spec.get('flip_test', True) if flip_test is None else flip_test
        heatmaps = self._run(x)[0]
        if flip_test:
            flipped = self._run(np.ascontiguousarray(x[..., ::-1]))[0]
            heatmaps = 0.5 * (heatmaps + flip_back(flipped, self.spec['flip_indices']))
        return heatmaps

    def predict_pose(self, img: np.ndarray, bboxes: Optional[np.ndarray] = None,
                     flip_test: Optional[bool] = None) -> dict:
        """BGR uint8 image, boxes [N, 4] x1 y1 x2 y2 (None: the whole image) -> dict(bboxes [N, 4],
        keypoints [N, K, 2] image pixels, keypoint_scores [N, K])."""
        if self.task != 'pose':
            raise ValueError(f'this export is a {self.task} model, not pose')
        crops = self.pose_crops(img, bboxes)
        heatmaps = self.pose_heatmaps(self._normalise([c['img'] for c in crops]), flip_test)
        codec = self.spec['codec']
        keypoints, scores = udp_decode(heatmaps, codec['input_size'], codec['blur_kernel_size'])
        out = []
        for kpts, c in zip(keypoints, crops):
            size = np.asarray(c['input_size'], np.float32)
            center = np.asarray(c['input_center'], np.float32).reshape(2)
            scale = np.asarray(c['input_scale'], np.float32).reshape(2)
            out.append(kpts / size * scale + center - 0.5 * scale)
        return dict(bboxes=np.concatenate([c['bbox'] for c in crops]).astype(np.float32),
                    keypoints=np.stack(out).astype(np.float32), keypoint_scores=scores)

    # ------------------------------------------------------------------ dense
    def predict_dense(self, images: Sequence[np.ndarray]) -> List[dict]:
        """BGR uint8 images -> one dict per image at its original size, as ``inference_dense``: seg ``labels``;
        normal ``normal``; pointmap ``pointmap``, ``scale``, ``metric_pointmap``; albedo ``albedo`` (clipped)."""
        task = self.task
        if task in ('pose', 'backbone'):
            raise ValueError(f'this export is a {task} model, not a dense one')
        metas = []
        for img in images:
            h, w = img.shape[:2]
            metas.append(run_steps(dict(img=img, img_shape=(h, w), ori_shape=(h, w)), self.spec['pipeline']))
        x = self._normalise([m['img'] for m in metas])
        outs = self._run(x)
        in_hw = x.shape[-2:]
        smoothing = self.spec.get('test_cfg', {}).get('upsample_smoothing') if task == 'pointmap' else None
        results = []
        for i, meta in enumerate(metas):
            pred = resize_chw(outs[0][i], in_hw)
            if task == 'seg':
                results.append(dict(labels=invert_test_resize(pred, meta).argmax(0).astype(np.int64)))
                continue
            if task == 'normal':
                pred = unit(pred, 1e-8)
            pred = invert_test_resize(pred, meta, smoothing)
            if task == 'normal':
                results.append(dict(normal=unit(pred).transpose(1, 2, 0)))
            elif task == 'albedo':
                results.append(dict(albedo=np.clip(pred.transpose(1, 2, 0), 0, 1)))
            else:
                factor = float(meta.get('letterbox_scale', 1.0))
                pm = (pred * factor).transpose(1, 2, 0)
                scale = float(outs[1][i].reshape(-1)[0]) * factor
                results.append(dict(pointmap=pm, scale=scale, metric_pointmap=pm / scale))
        return results
