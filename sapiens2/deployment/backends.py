"""Fast inference paths behind the inference API: ``accelerate(model, backend, dtype, quantize)``.

* ``eager``: the model as it is (bf16 / fp16 under autocast through ``inference_data(dtype=...)``);
* ``compile``: ``torch.compile`` of backbone + head (``compile_backend``: 'inductor' by default);
* ``onnxruntime``: the network exported to ONNX (fp32, dynamic batch, input = the config's size) and run by an
  onnxruntime session; the torch pre- and post-processing of the model stay as they are;
* ``quantize='int8'``: dynamic int8 quantization of the linear layers (weights int8 per channel / per tensor,
  activations quantized per batch at run time): ``torch.ao.quantization.quantize_dynamic`` for eager / compile,
  ``onnxruntime.quantization.quantize_dynamic`` (MatMul) for onnxruntime.

The returned model shares the data preprocessor, codec, test_cfg and predict of ``model`` (a shallow copy whose
``backbone`` passes images through and whose ``decode_head`` is the accelerated network); ``model`` itself is not
changed.
"""
import copy
import os.path as osp
import tempfile
from typing import Callable, Optional, Tuple

import torch
from torch import nn

BACKENDS = ('eager', 'compile', 'onnxruntime')
QUANTIZE = (None, 'none', 'int8')


class _PassThrough(nn.Module):
    """Stands in for the backbone: ``forward(x) -> (x,)`` so that ``extract_feat`` hands the images to the head."""

    def forward(self, x):
        return (x, )


class _Network(nn.Module):
    """Stands in for the decode head: images -> the network outputs through ``fn``; ``predict`` is the replaced
    head's (flip test, output split), run on these outputs."""

    def __init__(self, fn: Callable, keep: Optional[nn.Module], head: nn.Module):
        super().__init__()
        self.fn = fn
        self.keep = keep  # the module whose weights ``fn`` uses (kept alive, moved by .to())
        self.head_predict = type(head).predict  # a plain function: called with this module as `self`

    def forward(self, x):
        return self.fn(x)

    def predict(self, feats, data_samples=None, test_cfg=None):
        return self.head_predict(self, feats, data_samples, test_cfg)


def _ort_fn(path: str, threads: Optional[int] = None) -> Callable:
    from .onnx_runtime import OnnxNetwork
    net = OnnxNetwork(path, threads=threads)

    def run(x: torch.Tensor):
        with torch.autocast(x.device.type, enabled=False):
            outs = net(x.detach().float().cpu().numpy())
        outs = [torch.from_numpy(o).to(x.device) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)
    run.network = net
    return run


def quantize_onnx(src: str, dst: str) -> str:
    """Dynamic int8 quantization of the MatMul (linear) weights of an ONNX file -> ``dst``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, op_types_to_quantize=['MatMul'], weight_type=QuantType.QInt8, per_channel=True)
    import onnx
    proto, ref = onnx.load(dst), onnx.load(src, load_external_data=False)
    if not any(p.key == 'sapiens2' for p in proto.metadata_props):
        for p in ref.metadata_props:
            entry = proto.metadata_props.add()
            entry.key, entry.value = p.key, p.value
        onnx.save(proto, dst)
    return dst


def quantize_torch(net: nn.Module) -> nn.Module:
    """``torch.ao`` dynamic int8 quantization of every ``nn.Linear`` of ``net`` (a copy)."""
    import warnings
    from torch.ao.quantization import quantize_dynamic
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return quantize_dynamic(copy.deepcopy(net), {nn.Linear}, dtype=torch.qint8)


def accelerate(model: nn.Module, backend: str = 'eager', dtype: str = 'fp32', quantize: Optional[str] = None,
               shape: Optional[Tuple[int, int]] = None, onnx_path: Optional[str] = None,
               compile_backend: str = 'inductor', threads: Optional[int] = None) -> nn.Module:
    """A copy of a task model whose network runs on ``backend`` (see the module doc). ``onnx_path``: where the
    onnxruntime backend writes (or, when it exists, reads) its ONNX file (default: a temporary folder);
    ``shape``: the network input (default: the config's)."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    quantize = None if quantize == 'none' else quantize
    if backend == 'eager' and quantize is None:
        return model
    if backend == 'onnxruntime' and dtype != 'fp32':
        raise ValueError(f"backend 'onnxruntime' runs fp32 (or quantize='int8'), not {dtype}")
    if quantize and dtype != 'fp32':
        raise ValueError(f"quantize='int8' replaces the fp32 linear layers; use dtype='fp32', not {dtype}")
    from .export import DeployNet, default_shape, deploy_net, export_model
    shape = tuple(shape) if shape else default_shape(model, getattr(model, 'cfg', None))
    fast = copy.copy(model)
    fast._modules = dict(model._modules)
    fast.test_cfg = model.test_cfg
    if backend == 'onnxruntime':
        if onnx_path is None:
            fast._onnx_dir = tempfile.TemporaryDirectory(prefix='sapiens2_ort_')
            onnx_path = osp.join(fast._onnx_dir.name, 'model.onnx')
        if not osp.exists(onnx_path):
            export_model(model, 'onnx', onnx_path, shape=shape, dynamic_batch=True, batch=2)
        if quantize == 'int8':
            q_path = onnx_path[:-len('.onnx')] + '.int8.onnx'
            if not osp.exists(q_path):
                quantize_onnx(onnx_path, q_path)
            onnx_path = q_path
        fn = _ort_fn(onnx_path, threads)
        fast._modules['decode_head'] = _Network(fn, None, model.decode_head)
    else:
        if quantize == 'int8':
            net = quantize_torch(deploy_net(model, shape))
        else:
            net = DeployNet(model.backbone, model.decode_head).eval()
        runner = torch.compile(net, backend=compile_backend, dynamic=False) if backend == 'compile' else net
        fast._modules['decode_head'] = _Network(runner, net, model.decode_head)
    fast._modules['backbone'] = _PassThrough()
    fast.backend = backend
    fast.quantize = quantize
    return fast

