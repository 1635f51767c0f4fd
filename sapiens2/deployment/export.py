"""Export of the Sapiens2 task models and the bare backbone: TorchScript, ``torch.export`` (.pt2) and ONNX.

Every export is the *network* of a model: normalised RGB images [B, 3, H, W] (float32) in, the raw outputs out
(float32): backbone ``featmap`` [B, C, H/16, W/16]; pose ``heatmaps``; seg ``logits``; normal / albedo maps;
pointmap ``(pointmap, scale)``. Pre- and post-processing (crops, letterbox, flip test, heatmap decoding, resizing
back) stay outside, described by a JSON *spec* saved with the artefact (ONNX metadata ``sapiens2``, an extra file
``sapiens2.json`` in TorchScript / .pt2 archives) that :mod:`sapiens2.deployment.onnx_runtime` follows.

The exported network is a deploy copy of the model (its own copy of the weights; the eager model is not changed):
* RoPE (sin, cos) for the export's fixed H×W are precomputed buffers (the grid is static; only the batch is
  dynamic with ``dynamic_batch``);
* for ONNX, the released bf16 RoPE arithmetic is kept by rounding to bf16 with Cast ops around fp32 arithmetic
  (a bf16 product of two bf16 numbers is exact in fp32, so the result equals torch's bf16 ops); onnxruntime has
  no bf16 elementwise CPU kernels;
* the 4K tokenizer pools all windows in one batch (no Python chunk loop, whose count depends on the batch);
* grouped-query attention (``repeat_interleave`` of k/v), QK-RMSNorm and RMSNorm export as they are.
Refused: ``--format onnx --dtype bf16`` (onnxruntime's CPU provider has no bf16 kernels for MatMul/Conv: use fp32
or fp16 ONNX, or the bf16 TorchScript / .pt2).
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from sapiens2.models.backbones import Sapiens2
from sapiens2.models.layers import GroupedQueryAttention, WindowedTokenizer
from sapiens2.models.layers.rope import rope_rotate_half

FORMATS = ('torchscript', 'exported', 'onnx')
EXTENSIONS = dict(torchscript='.ts.pt', exported='.pt2', onnx='.onnx')
DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)
SPEC_KEY = 'sapiens2'
SPEC_VERSION = 1
# test-pipeline steps that load files or pack tensors: not part of the preprocessing spec
_SKIP_STEPS = ('LoadImageFromFile', 'LoadPoseImage', 'LoadImage', 'LoadDenseAnnotations', 'PackSegInputs',
               'PackDenseInputs', 'PackPoseInputs')


# ----------------------------------------------------------------------------------------------- deploy modules
class FixedRope(nn.Module):
    """(sin, cos) of one grid, precomputed: ``forward(H=h, W=w)`` returns them (and checks the grid)."""

    def __init__(self, sin: torch.Tensor, cos: torch.Tensor, hw: Tuple[int, int]):
        super().__init__()
        self.register_buffer('sin', sin.detach().clone(), persistent=False)
        self.register_buffer('cos', cos.detach().clone(), persistent=False)
        self.hw = tuple(int(v) for v in hw)

    def forward(self, *, H: int, W: int):
        if (int(H), int(W)) != self.hw:
            raise ValueError(f'this export was made for a {self.hw[0]}x{self.hw[1]} patch grid, got {H}x{W}')
        return self.sin, self.cos


def _round(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """fp32 -> nearest ``dtype`` value, kept in fp32 (two Cast ops in ONNX)."""
    return x.to(dtype).to(torch.float32)


def apply_rope_emulated(q: torch.Tensor, k: torch.Tensor, rope, rope_dtype: torch.dtype):
    """:func:`sapiens2.models.layers.apply_rope` with fp32 ops rounded to ``rope_dtype`` after each op: equal to the
    bf16 ops of the eager model (products of bf16 numbers are exact in fp32; a sum is rounded once or, in rare
    cases of very different exponents, twice). ``rope`` holds the bf16 (sin, cos) as fp32."""
    sin, cos = rope
    out = []
    for x in (q, k):
        dtype = x.dtype
        x = _round(x.float(), rope_dtype)
        prefix = x.shape[-2] - sin.shape[-2]
        xr = x[..., prefix:, :]
        y = _round(_round(xr * cos, rope_dtype) + _round(rope_rotate_half(xr) * sin, rope_dtype), rope_dtype)
        out.append(torch.cat((x[..., :prefix, :], y), dim=-2).to(dtype))
    return out[0], out[1]


class ExportAttention(GroupedQueryAttention):
    """:class:`GroupedQueryAttention` whose RoPE can be emulated in fp32 (``rope_emulate_dtype``, for ONNX)."""
    rope_emulate_dtype: Optional[torch.dtype] = None

    def project_qkv(self, x: torch.Tensor, rope=None):
        """The parent's q, k, v (projections, QK-norm, repeated key/value heads) with the emulated RoPE."""
        if rope is None or self.rope_emulate_dtype is None:
            return super().project_qkv(x, rope)
        q, k, v = super().project_qkv(x, None)
        q, k = apply_rope_emulated(q, k, rope, self.rope_emulate_dtype)
        return q, k, v


class ExportTokenizer(WindowedTokenizer):
    """The 4K tokenizer pooling every window in one batch (no chunk loop)."""

    def forward(self, x, hw, ids_keep=None):
        if ids_keep is not None:
            raise ValueError('the export tokenizer does not mask')
        B, _, C = x.shape
        (h, w), s = hw, self.window_size
        windows = x.reshape(B, h // s, s, w // s, s, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, s * s, C)
        return self._pool(windows).reshape(B, (h // s) * (w // s), C), (h // s, w // s)


class DeployNet(nn.Module):
    """backbone (+ head): float32 images [B, 3, H, W] -> float32 outputs (a tensor, or a tuple for the pointmap).

    The weights may be bf16/fp16 (``dtype``): the input is cast to it and the outputs back to float32."""

    def __init__(self, backbone: nn.Module, head: Optional[nn.Module] = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.dtype = dtype

    def forward(self, x: torch.Tensor):
        feat = self.backbone(x.to(self.dtype))[-1]
        out = feat if self.head is None else self.head(feat)
        if isinstance(out, (tuple, list)):
            return tuple(o.float() for o in out)
        return out.float()


def model_task(model: nn.Module) -> str:
    """'backbone', 'pose', 'seg', 'normal', 'pointmap' or 'albedo'."""
    if isinstance(model, Sapiens2):
        return 'backbone'
    name = type(model).__name__
    if name == 'TopdownPoseEstimator':
        return 'pose'
    if name == 'SegEstimator':
        return 'seg'
    task = getattr(model, 'task', None)
    if task in ('normal', 'pointmap', 'albedo'):
        return task
    raise ValueError(f'cannot tell the task of a {name}')


def output_names(task: str) -> List[str]:
    return dict(backbone=['featmap'], pose=['heatmaps'], seg=['logits'], normal=['normal'], albedo=['albedo'],
                pointmap=['pointmap', 'scale'])[task]


def deploy_net(model: nn.Module, shape: Tuple[int, int], dtype: str = 'fp32', onnx: bool = False) -> DeployNet:
    """A deploy copy of ``model`` (task model or bare ``Sapiens2``) for input ``shape`` (H, W); see the module doc.

    The copy owns its parameters (a deep copy, cast to ``dtype``); the eager model is left as it is."""
    if dtype not in DTYPES:
        raise ValueError(f'dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
    task = model_task(model)
    src_backbone = model if task == 'backbone' else model.backbone
    backbone = copy.deepcopy(src_backbone).eval()
    head = None if task == 'backbone' else copy.deepcopy(model.decode_head).eval()
    if task == 'backbone':
        backbone.out_type = 'featmap'
        backbone.out_indices = [backbone.num_layers - 1]
    H, W = shape
    backbone.check_input(torch.empty(1, 3, H, W, device='meta'))
    d = backbone.input_divisor
    hw = (H // d, W // d)
    rope_dtype = backbone.rope_embed.dtype
    with torch.no_grad():
        sin, cos = backbone.rope_embed(H=hw[0], W=hw[1])
    backbone.rope_embed = FixedRope(sin, cos, hw)
    for m in backbone.modules():
        if type(m) is GroupedQueryAttention:
            m.__class__ = ExportAttention
            if onnx and rope_dtype != torch.float32:
                m.rope_emulate_dtype = rope_dtype
        elif type(m) is WindowedTokenizer:
            m.__class__ = ExportTokenizer
    net = DeployNet(backbone, head, DTYPES[dtype]).eval()
    net.to(DTYPES[dtype])
    # .to() cast the rope tables too: they keep the RoPE dtype (eager numerics), or fp32 holding its values (ONNX)
    backbone.rope_embed.sin, backbone.rope_embed.cos = (sin.float(), cos.float()) if onnx else (sin, cos)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


# ------------------------------------------------------------------------------------------------------- spec
def _plain(obj):
    """Config values -> JSON-able Python (tuples -> lists, ConfigDict -> dict, numpy -> lists)."""
    if hasattr(obj, 'to_dict'):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj


def default_shape(model: nn.Module, cfg=None) -> Tuple[int, int]:
    """(H, W) of the network input: the pose codec's crop, the dense resize of the config, else the backbone's
    ``img_size``."""
    task = model_task(model)
    if task == 'pose':
        w, h = model.codec.input_size
        return int(h), int(w)
    if cfg is not None and task != 'backbone':
        for step in cfg.get('test_pipeline', []):
            if 'scale' in step:
                w, h = step['scale']
                return int(h), int(w)
    backbone = model if task == 'backbone' else model.backbone
    return tuple(int(v) for v in backbone.img_size)


def preprocessing_steps(cfg, shape: Tuple[int, int]) -> List[dict]:
    """The config's ``test_pipeline`` without loading and packing, with its size set to ``shape`` (H, W)."""
    steps = []
    for step in cfg.get('test_pipeline', []):
        step = _plain(step)
        step['type'] = step['type'].split('.')[-1]
        if step['type'] in _SKIP_STEPS:
            continue
        if 'input_size' in step:
            step['input_size'] = [shape[1], shape[0]]
        if 'scale' in step:
            step['scale'] = [shape[1], shape[0]]
        steps.append(step)
    return steps


def make_spec(model: nn.Module, cfg, shape: Tuple[int, int], fmt: str, dtype: str, dynamic_batch: bool) -> dict:
    """Everything a runner needs besides the network: task, input normalisation, preprocessing steps and the
    post-processing settings (codec, flip test, metadata for the pictures)."""
    task = model_task(model)
    spec = dict(version=SPEC_VERSION, task=task, format=fmt, dtype=dtype, input_shape=list(shape),
                dynamic_batch=bool(dynamic_batch), outputs=output_names(task),
                mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
    if task != 'backbone':
        pre = model.data_preprocessor
        if getattr(pre, '_enable_normalize', True) and hasattr(pre, 'mean'):
            spec['mean'] = [float(v) for v in pre.mean.flatten()]
            spec['std'] = [float(v) for v in pre.std.flatten()]
        spec['bgr_to_rgb'] = bool(getattr(pre, '_channel_conversion', True))
        spec['pipeline'] = preprocessing_steps(cfg, shape) if cfg is not None else []
        spec['test_cfg'] = _plain(dict(model.test_cfg))
    if task == 'pose':
        codec = model.codec
        spec['codec'] = dict(type=type(codec).__name__, input_size=[shape[1], shape[0]],
                             heatmap_size=[int(v) for v in codec.heatmap_size],
                             blur_kernel_size=int(codec.blur_kernel_size))
        spec['flip_test'] = bool(model.test_cfg.get('flip_test', True))
        meta = getattr(model, 'dataset_meta', None)
        if meta is None:
            from mmpose.datasets.datasets.utils import parse_pose_metainfo
            from sapiens2.utils.package_files import dataset_metainfo_config
            meta = parse_pose_metainfo(dict(from_file=dataset_metainfo_config('keypoints308')))
        names = meta['keypoint_id2name']
        spec['keypoint_names'] = [names[i] for i in range(len(names))]
        spec['flip_indices'] = _plain(meta['flip_indices'])
        spec['skeleton_links'] = _plain(meta.get('skeleton_links', []))
        for key in ('skeleton_link_colors', 'keypoint_colors'):
            if meta.get(key) is not None:
                spec[key] = _plain(meta[key])
    if task == 'seg' and cfg is not None:
        meta = cfg.get('test_dataloader', {}).get('dataset', {}).get('metainfo') or {}
        if 'classes' in meta:
            spec['classes'] = _plain(meta['classes'])
        if 'palette' in meta:
            spec['palette'] = _plain(meta['palette'])
    return spec


# ----------------------------------------------------------------------------------------------------- export
def export_model(model: nn.Module, fmt: str, path: str, shape: Optional[Tuple[int, int]] = None, dtype: str = 'fp32',
                 dynamic_batch: bool = False, batch: int = 1, cfg=None, opset: int = 18) -> dict:
    """Export ``model`` (a task model or a ``Sapiens2``) to ``path`` in ``fmt`` ('torchscript' | 'exported' |
    'onnx'); returns the spec saved with it. ``batch`` is the example batch (the only batch unless
    ``dynamic_batch``)."""
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
    if fmt == 'onnx' and dtype == 'bf16':
        raise ValueError('ONNX export in bf16 is refused: onnxruntime\'s CPU provider has no bf16 MatMul/Conv '
                         'kernels. Export fp32 (or fp16) ONNX, or use --format torchscript/exported for bf16.')
    cfg = cfg if cfg is not None else getattr(model, 'cfg', None)
    shape = tuple(shape) if shape else default_shape(model, cfg)
    net = deploy_net(model, shape, dtype, onnx=fmt == 'onnx')
    spec = make_spec(model, cfg, shape, fmt, dtype, dynamic_batch)
    spec['batch'] = int(batch)
    device = next(net.parameters()).device
    # a dynamic batch needs an example batch >= 2 (torch.export specialises sizes 0 and 1)
    x = torch.zeros(max(batch, 2) if dynamic_batch else batch, 3, *shape, device=device)
    os.makedirs(osp.dirname(osp.abspath(path)) or '.', exist_ok=True)
    extra = {f'{SPEC_KEY}.json': json.dumps(spec)}
    with torch.no_grad():
        if fmt == 'torchscript':
            traced = torch.jit.trace(net, (x, ), check_trace=False)
            torch.jit.save(traced, path, _extra_files=extra)
        elif fmt == 'exported':
            dyn = ({0: torch.export.Dim('batch', min=1, max=4096)}, ) if dynamic_batch else None
            ep = torch.export.export(net, (x, ), dynamic_shapes=dyn, strict=False)
            torch.export.save(ep, path, extra_files=extra)
        else:
            _export_onnx(net, x, path, spec, dynamic_batch, opset)
    return spec


def _cache_torchlib_registry():
    """torch.onnx builds its registry of torchlib functions anew for every export (about 5 s here); keep the first
    one for the process (it is only read when no custom translation table is given). Skipped when torch's internals
    differ."""
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:
        return
    cls = _registration.ONNXRegistry
    if getattr(cls, '_sapiens2_cached', False) or not hasattr(cls, 'from_torchlib'):
        return
    original = cls.from_torchlib
    cache = {}

    def from_torchlib(*args, **kwargs):
        if args and isinstance(args[0], cls):  # called on an instance, as torch.onnx does
            args = args[1:]
        key = repr((args, sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(*args, **kwargs)
        return copy.copy(cache[key])

    cls.from_torchlib = staticmethod(from_torchlib)
    cls._sapiens2_cached = True


def _export_onnx(net, x, path, spec, dynamic_batch, opset):
    import onnx
    _cache_torchlib_registry()
    dyn = ({0: torch.export.Dim('batch', min=1, max=4096)}, ) if dynamic_batch else None
    program = torch.onnx.export(net, (x, ), None, dynamo=True, dynamic_shapes=dyn, input_names=['images'],
                                output_names=spec['outputs'], opset_version=opset, verbose=False,
                                optimize=True)
    big = sum(p.numel() * p.element_size() for p in net.parameters()) > 1.8e9
    program.save(path, external_data=big)
    proto = onnx.load(path, load_external_data=False)
    entry = proto.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec)
    if big:
        onnx.save(proto, path, save_as_external_data=False)  # the weights stay in the data file beside it
    else:
        onnx.save(proto, path)


# ------------------------------------------------------------------------------------------------------- load
class LoadedExport:
    """Callable on a float32 numpy array or tensor [B, 3, H, W] -> list of float32 numpy outputs; ``spec`` holds
    the saved spec."""

    def __init__(self, path: str, fmt: Optional[str] = None, device: str = 'cpu', threads: Optional[int] = None):
        self.path = path
        self.fmt = fmt or format_of(path)
        if self.fmt == 'onnx':
            from .onnx_runtime import OnnxNetwork
            self.net = OnnxNetwork(path, threads=threads)
            self.spec = self.net.spec
        elif self.fmt == 'torchscript':
            extra = {f'{SPEC_KEY}.json': ''}
            self.module = torch.jit.load(path, map_location=device, _extra_files=extra)
            self.spec = json.loads(extra[f'{SPEC_KEY}.json'] or '{}')
        else:
            extra = {f'{SPEC_KEY}.json': ''}
            self.module = torch.export.load(path, extra_files=extra).module()
            self.spec = json.loads(extra[f'{SPEC_KEY}.json'] or '{}')
        self.device = device

    def __call__(self, images) -> List[np.ndarray]:
        if self.fmt == 'onnx':
            return self.net(images.cpu().numpy() if isinstance(images, torch.Tensor) else images)
        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
        with torch.no_grad():
            out = self.module(x.float().to(self.device))
        out = out if isinstance(out, (tuple, list)) else (out, )
        return [o.float().cpu().numpy() for o in out]


def format_of(path: str) -> str:
    if path.endswith('.onnx'):
        return 'onnx'
    if path.endswith('.pt2'):
        return 'exported'
    return 'torchscript'


def load_exported(path: str, fmt: Optional[str] = None, device: str = 'cpu') -> LoadedExport:
    return LoadedExport(path, fmt, device)


# ------------------------------------------------------------------------------------------------ parity report
def eager_outputs(model: nn.Module, images: torch.Tensor) -> List[np.ndarray]:
    """The eager fp32 model's raw outputs on normalised images."""
    with torch.no_grad():
        if model_task(model) == 'backbone':
            saved = model.out_type, model.out_indices
            model.out_type, model.out_indices = 'featmap', [model.num_layers - 1]
            try:
                out = model(images)[-1]
            finally:
                model.out_type, model.out_indices = saved
        else:
            out = model.decode_head(model.extract_feat(images))
    out = out if isinstance(out, (tuple, list)) else (out, )
    return [o.float().cpu().numpy() for o in out]


def raw_difference(ref: Sequence[np.ndarray], out: Sequence[np.ndarray], names: Sequence[str]) -> Dict[str, dict]:
    """Per output: max / mean |diff|, output scale (max |ref|) and max |diff| / scale."""
    report = {}
    for name, a, b in zip(names, ref, out):
        if a.shape != b.shape:
            raise ValueError(f'output {name}: eager {a.shape} vs export {b.shape}')
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        scale = float(np.abs(a).max()) or 1.0
        report[name] = dict(max_abs=float(d.max()), mean_abs=float(d.mean()), scale=scale,
                            max_rel_to_scale=float(d.max() / scale))
    return report


def task_difference(task: str, ref: Sequence[np.ndarray], out: Sequence[np.ndarray],
                    input_size=None) -> dict:
    """Task-level difference of two raw outputs at the network resolution.

    pose: keypoints (UDP-decoded in numpy, crop-input pixels) max / mean px; seg: share of pixels with the same
    argmax; normal: mean / max angle (degrees) between unit normals; pointmap: max relative difference of the
    pointmap and the scale; albedo: max |diff|; backbone: cosine similarity of the patch features."""
    from . import onnx_runtime as ortm
    if task == 'pose':
        hm_a, hm_b = ref[0], out[0]
        size = input_size or (hm_a.shape[-1] * 4, hm_a.shape[-2] * 4)
        ka, _ = ortm.udp_decode(hm_a, size, 11)
        kb, _ = ortm.udp_decode(hm_b, size, 11)
        d = np.linalg.norm(ka - kb, axis=-1)
        return dict(keypoint_px_max=float(d.max()), keypoint_px_mean=float(d.mean()))
    if task == 'seg':
        return dict(pixel_agreement=float((ref[0].argmax(1) == out[0].argmax(1)).mean()))
    if task == 'normal':
        na = ref[0] / np.maximum(np.linalg.norm(ref[0], axis=1, keepdims=True), 1e-8)
        nb = out[0] / np.maximum(np.linalg.norm(out[0], axis=1, keepdims=True), 1e-8)
        ang = np.degrees(np.arccos(np.clip((na * nb).sum(1), -1, 1)))
        return dict(angle_deg_mean=float(ang.mean()), angle_deg_max=float(ang.max()))
    if task == 'pointmap':
        rel = np.abs(ref[0] - out[0]).max() / max(float(np.abs(ref[0]).max()), 1e-12)
        srel = np.abs(ref[1] - out[1]).max() / max(float(np.abs(ref[1]).max()), 1e-12)
        return dict(pointmap_max_rel=float(rel), scale_max_rel=float(srel))
    if task == 'albedo':
        return dict(albedo_max_abs=float(np.abs(ref[0] - out[0]).max()))
    a, b = ref[0].reshape(len(ref[0]), -1), out[0].reshape(len(out[0]), -1)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return dict(feature_cosine_min=float(cos.min()))


# ------------------------------------------------------------------------------------------- real-image inputs
def bundled_sample_dir() -> str:
    """data/coco_wholebody_sample of the checkout (4 COCO images + COCO-WholeBody boxes)."""
    return osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data', 'coco_wholebody_sample')


def sample_images(folder: Optional[str] = None) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """[(name, BGR image, GT person boxes [N, 4] xyxy)] of the bundled sample (or of ``folder``: boxes from its
    ``*.json`` COCO file when there is one)."""
    import glob

    import cv2
    folder = folder or bundled_sample_dir()
    boxes: Dict[str, list] = {}
    for ann_file in sorted(glob.glob(osp.join(folder, '*.json'))):
        with open(ann_file) as f:
            coco = json.load(f)
        names = {im['id']: im['file_name'] for im in coco.get('images', [])}
        for ann in coco.get('annotations', []):
            x, y, w, h = ann['bbox']
            if w > 0 and h > 0 and ann.get('num_keypoints', 1) > 0:
                boxes.setdefault(osp.basename(names[ann['image_id']]), []).append([x, y, x + w, y + h])
    out = []
    for path in sorted(glob.glob(osp.join(folder, '*.jpg')) + glob.glob(osp.join(folder, '*.png'))):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        name = osp.basename(path)
        out.append((name, img, np.array(boxes.get(name, []), np.float32).reshape(-1, 4)))
    if not out:
        raise FileNotFoundError(f'no .jpg/.png images in {folder}')
    return out


def real_inputs(model: nn.Module, shape: Tuple[int, int], folder: Optional[str] = None,
                max_inputs: int = 8) -> torch.Tensor:
    """Normalised network inputs [N, 3, H, W] from real images through the model's own test pipeline: pose crops of
    the GT boxes, the dense resize for dense tasks, a bilinear resize + ImageNet normalisation for a backbone."""
    from mmengine.dataset import pseudo_collate
    images = sample_images(folder)
    task = model_task(model)
    if task == 'backbone':
        from sapiens2.apis.feature_analysis import preprocess
        return torch.cat([preprocess(img, shape) for _, img, _ in images])[:max_inputs]
    cfg = copy.deepcopy(model.cfg)
    for step in cfg.test_pipeline:
        if 'input_size' in step:
            step['input_size'] = (shape[1], shape[0])
        if 'scale' in step:
            step['scale'] = (shape[1], shape[0])
    data = []
    if task == 'pose':
        from sapiens2.apis.inference import build_test_pipeline
        from sapiens2.apis.pose_inference import pose_crops
        transforms = build_test_pipeline(cfg)
        if getattr(model, 'dataset_meta', None) is None:
            from mmpose.datasets.datasets.utils import parse_pose_metainfo
            from sapiens2.utils.package_files import dataset_metainfo_config
            model.dataset_meta = parse_pose_metainfo(dict(from_file=dataset_metainfo_config('keypoints308')))
        for name, img, boxes in images:
            data += pose_crops(model, img, boxes, transforms, img_path=name)
    else:
        from sapiens2.apis.inference import build_test_pipeline
        transforms = build_test_pipeline(cfg)
        for name, img, _ in images:
            h, w = img.shape[:2]
            data.append(transforms(dict(img=img, img_shape=(h, w), ori_shape=(h, w), img_path=name)))
    data = data[:max_inputs]
    with torch.no_grad():
        batch = model.data_preprocessor(pseudo_collate(data), False)
    return batch['inputs'].float()


def verify_export(model: nn.Module, path: str, images: torch.Tensor, batch_size: Optional[int] = None) -> dict:
    """Run the artefact at ``path`` and the eager fp32 model on ``images``; -> the parity report (raw outputs:
    max / mean |diff|, scale; task level: see :func:`task_difference`)."""
    loaded = load_exported(path)
    spec = loaded.spec
    task = spec.get('task', model_task(model))
    ref = eager_outputs(model, images)
    step = (batch_size or len(images)) if spec.get('dynamic_batch') else int(spec.get('batch', 1))
    chunks = [loaded(images[s:s + step]) for s in range(0, len(images), step)]
    out = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
    input_size = spec.get('codec', {}).get('input_size')
    return dict(format=loaded.fmt, dtype=spec.get('dtype'), task=task, inputs=list(images.shape),
                raw=raw_difference(ref, out, spec['outputs']), task_level=task_difference(task, ref, out, input_size))


def format_report(report: dict) -> str:
    lines = [f"parity {report['format']} {report['dtype']} ({report['task']}, inputs {report['inputs']}):"]
    for name, r in report['raw'].items():
        lines.append(f"  {name}: max |diff| {r['max_abs']:.3g}, mean |diff| {r['mean_abs']:.3g}, scale "
                     f"{r['scale']:.3g}, max |diff| / scale {r['max_rel_to_scale']:.3g}")
    lines.append('  task: ' + ', '.join(f'{k} {v:.4g}' for k, v in report['task_level'].items()))
    return '\n'.join(lines)
