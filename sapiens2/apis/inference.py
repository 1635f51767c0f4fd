"""Batched, chunked inference with a selectable compute dtype (bf16 / fp16 / fp32), used by the demos.

Two entry points:
* :func:`inference_tensor` - preprocessed images [N, 3, H, W] -> network outputs (e.g. heatmaps [N, K, h, w]),
  run ``batch_size`` images at a time, results gathered on ``out_device`` in float32.
* :func:`inference_data` - a list of data dicts (``inputs`` + ``data_samples`` as produced by a test pipeline)
  -> the model's ``test_step`` predictions (data samples), ``batch_size`` at a time.

The weights stay as they are (fp32 master copy); bf16 / fp16 run under ``torch.autocast``.
"""
import contextlib
from typing import Callable, List, Optional, Sequence, Union

import torch
from mmengine.dataset import pseudo_collate
from torch import nn
from tqdm import tqdm

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)


def model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def autocast_context(dtype: str, device: torch.device):
    """``torch.autocast`` for 'bf16' / 'fp16' on ``device``; a no-op for 'fp32'. fp16 needs a GPU (CPU fp16
    matmuls are emulated and slow): use bf16 on CPU."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype == 'fp32':
        return contextlib.nullcontext()
    device = torch.device(device)
    if dtype == 'fp16' and device.type == 'cpu':
        raise ValueError("dtype='fp16' needs a GPU; use dtype='bf16' on CPU")
    return torch.autocast(device_type=device.type, dtype=DTYPES[dtype])


def num_chunks(n: int, batch_size: int) -> int:
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    return -(-n // batch_size)


@torch.inference_mode()
def inference_tensor(model: nn.Module, images: torch.Tensor, batch_size: int = 8, dtype: str = 'bf16',
                     out_device: Union[str, torch.device] = 'cpu', forward: Optional[Callable] = None,
                     progress: bool = False):
    """Run ``model`` on images [N, 3, H, W] in chunks of ``batch_size`` on the model's device.

    Args:
        forward: ``callable(model, batch) -> Tensor | tuple of Tensors``; default ``model(batch, mode='tensor')``
            for MMEngine models and ``model(batch)`` otherwise.
    Returns:
        the outputs concatenated over N (float32, on ``out_device``), a tuple when the model returns several.
    """
    if images.dim() != 4:
        raise ValueError(f'images must be [N, C, H, W], got shape {list(images.shape)}')
    if forward is None:
        takes_mode = 'mode' in getattr(model.forward, '__code__', type('', (), {'co_varnames': ()})).co_varnames
        forward = (lambda m, x: m(x, mode='tensor')) if takes_mode else (lambda m, x: m(x))
    device = model_device(model)
    was_training = model.training
    model.eval()
    outputs: List[Sequence[torch.Tensor]] = []
    chunks = images.split(batch_size)
    try:
        with autocast_context(dtype, device):
            for chunk in tqdm(chunks, total=num_chunks(len(images), batch_size), disable=not progress,
                              desc='inference'):
                out = forward(model, chunk.to(device, non_blocking=True))
                out = out if isinstance(out, (tuple, list)) else (out, )
                outputs.append([o.to(out_device, torch.float32) for o in out])
    finally:
        model.train(was_training)
    merged = tuple(torch.cat(parts) for parts in zip(*outputs))
    return merged[0] if len(merged) == 1 else merged


@torch.inference_mode()
def inference_data(model: nn.Module, data: Sequence[dict], batch_size: int = 8, dtype: str = 'bf16',
                   progress: bool = False) -> list:
    """``model.test_step`` (data preprocessor + ``predict``) over data dicts ``{'inputs': [3, H, W] uint8 tensor,
    'data_samples': ...}`` in chunks of ``batch_size`` -> the list of predicted data samples, in input order."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    results = []
    try:
        with autocast_context(dtype, device):
            for start in tqdm(range(0, len(data), batch_size), total=num_chunks(len(data), batch_size),
                              disable=not progress, desc='inference'):
                results.extend(model.test_step(pseudo_collate(list(data[start:start + batch_size]))))
    finally:
        model.train(was_training)
    return results


def accelerate_model(model: nn.Module, backend: str = 'eager', dtype: str = 'fp32', quantize: Optional[str] = None,
                     **kwargs) -> nn.Module:
    """The backend switch of the inference API: ``backend`` 'eager' | 'compile' (torch.compile) | 'onnxruntime'
    (the network exported to ONNX and run by onnxruntime), ``quantize='int8'`` (dynamic int8 linear layers). Returns
    a model for :func:`inference_data` / ``inference_pose`` / ``inference_dense``; see
    :func:`sapiens2.deployment.backends.accelerate`."""
    from sapiens2.deployment.backends import accelerate
    return accelerate(model, backend, dtype, quantize, **kwargs)
