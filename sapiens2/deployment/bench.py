"""Throughput of the inference backends side by side in one process (``tools/analysis/benchmark.py --backends``).

Each row times one (backend, dtype) of the same network on the same input — a bundled COCO image resized to the
input and normalised — and compares its output with eager fp32 (max |diff| / output scale). Backends:
``eager`` (fp32, bf16 under autocast), ``compile`` (torch.compile, inductor), ``onnxruntime`` (fp32 export),
``int8-ort`` (onnxruntime dynamic int8 MatMul), ``int8-torch`` (torch.ao dynamic int8 linear layers).
"""
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .export import DeployNet, deploy_net, export_model, model_task, sample_images

BENCH_BACKENDS = ('eager', 'compile', 'onnxruntime', 'int8-ort', 'int8-torch')


def median_time(fn, iters: int, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``iters`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def real_input(shape, batch: int = 1) -> torch.Tensor:
    """A bundled COCO image resized to ``shape`` (H, W), ImageNet-normalised, repeated to ``batch``."""
    from sapiens2.apis.feature_analysis import preprocess
    return preprocess(sample_images()[0][1], tuple(shape)).repeat(batch, 1, 1, 1)


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def bench_backends(model: torch.nn.Module, shape, backends: Sequence[str], dtypes: Sequence[str] = ('fp32', ),
                   batch: int = 1, iters: int = 3, threads: Optional[int] = None, work_dir: Optional[str] = None,
                   compile_backend: str = 'inductor', log=print) -> List[Dict]:
    """Rows dict(backend, dtype, img_per_s, sec_per_iter, ratio (to eager fp32), max_rel_diff, note) for the
    network of ``model`` (a task model or a bare ``Sapiens2``)."""
    threads = threads or torch.get_num_threads()
    x = real_input(shape, batch)
    task = model_task(model)
    eager = deploy_net(model, shape) if task == 'backbone' else DeployNet(model.backbone, model.decode_head).eval()
    tmp = tempfile.TemporaryDirectory(prefix='sapiens2_bench_')
    work_dir = work_dir or tmp.name
    onnx_path = osp.join(work_dir, 'net.onnx')
    rows, ref = [], None
    with torch.inference_mode():
        ref = _first(eager(x)).float()
    scale = float(ref.abs().max()) or 1.0

    def add(backend, dtype, fn, note=''):
        try:
            with torch.inference_mode():
                t = median_time(fn, iters)
                out = _first(fn())
            out = torch.as_tensor(np.asarray(out) if not isinstance(out, torch.Tensor) else out).float()
            row = dict(backend=backend, dtype=dtype, img_per_s=batch / t, sec_per_iter=t,
                       max_rel_diff=float((out - ref).abs().max()) / scale, note=note)
        except Exception as e:  # a backend that does not run here is reported, not fatal
            row = dict(backend=backend, dtype=dtype, img_per_s=float('nan'), sec_per_iter=float('nan'),
                       max_rel_diff=float('nan'), note=f'failed: {type(e).__name__}: {str(e)[:200]}')
        rows.append(row)
        log(f"  {backend:<12} {dtype:<5} {row['img_per_s']:.3f} img/s  max|diff|/scale {row['max_rel_diff']:.2e} "
            f"{row['note']}")

    for backend in backends:
        for dtype in dtypes:
            if backend in ('onnxruntime', 'int8-ort', 'int8-torch') and dtype != 'fp32':
                continue
            if backend == 'eager':
                ctx = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if dtype == 'bf16' else None
                add('eager', dtype, (lambda: _autocast(eager, x, ctx)))
            elif backend == 'compile':
                compiled = torch.compile(eager, backend=compile_backend, dynamic=False)
                ctx = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if dtype == 'bf16' else None
                t0 = time.perf_counter()
                with torch.inference_mode():
                    _autocast(compiled, x, ctx)
                add('compile', dtype, (lambda c=compiled, cx=ctx: _autocast(c, x, cx)),
                    f'compiled in {time.perf_counter() - t0:.0f} s')
            elif backend in ('onnxruntime', 'int8-ort'):
                from .backends import quantize_onnx
                from .onnx_runtime import OnnxNetwork
                if not osp.exists(onnx_path):
                    t0 = time.perf_counter()
                    export_model(model, 'onnx', onnx_path, shape=tuple(shape), batch=batch)
                    log(f'  (ONNX export {time.perf_counter() - t0:.0f} s)')
                path = onnx_path
                if backend == 'int8-ort':
                    path = quantize_onnx(onnx_path, osp.join(work_dir, 'net.int8.onnx'))
                net = OnnxNetwork(path, threads=threads)
                xn = x.numpy()
                add(backend, 'fp32' if backend == 'onnxruntime' else 'int8', (lambda n=net: n(xn)))
            elif backend == 'int8-torch':
                from .backends import quantize_torch
                q = quantize_torch(deploy_net(model, shape))
                add('int8-torch', 'int8', (lambda: q(x)))
    if 'eager' in backends and 'fp32' in dtypes and len(rows) > 1:  # eager fp32 again: load drifts on a shared host
        add('eager', 'fp32', (lambda: eager(x)), 'repeated last')
    base_rows = [r for r in rows if r['backend'] == 'eager' and r['dtype'] == 'fp32']
    base = max(base_rows, key=lambda r: r['img_per_s']) if base_rows else None  # the faster eager fp32 run
    for r in rows:
        r['ratio'] = r['img_per_s'] / base['img_per_s'] if base else float('nan')
    tmp.cleanup()
    return rows


def _autocast(net, x, ctx):
    if ctx is None:
        return net(x)
    with ctx():
        return net(x)


def format_rows(title: str, rows: List[Dict]) -> str:
    lines = [f'| {title} | img/s | × eager fp32 | max abs diff / scale | note |', '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['backend']} {r['dtype']} | {r['img_per_s']:.3f} | {r['ratio']:.2f} | "
                     f"{r['max_rel_diff']:.1e} | {r['note']} |")
    return '\n'.join(lines)
