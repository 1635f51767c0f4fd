"""The inference floor of the task APIs (``pose_inference.py``, ``dense_inference.py`` and the demos sit above it),
as mmpose's ``apis/inference.py``:

* :func:`init_model` - a config (file, bundled name, ``Config``; or ``None`` with a Hub checkpoint) -> the model in
  eval mode with its weights, ``model.cfg`` and ``model.dataset_meta`` (:func:`dataset_meta_from_config`);
* :func:`build_test_pipeline` - the config's ``test_pipeline`` without its file-loading steps, for in-memory images;
* :func:`select_device`;
* batched, chunked runs with a selectable compute dtype (bf16 / fp16 / fp32): :func:`inference_tensor` (preprocessed
  images [N, 3, H, W] -> network outputs, ``batch_size`` at a time, gathered on ``out_device`` in float32) and
  :func:`inference_data` (data dicts of a test pipeline -> the model's ``test_step`` predictions);
* :func:`accelerate_model` - the backend switch (torch.compile, onnxruntime, int8).

The weights stay as they are (fp32 master copy); bf16 / fp16 run under ``torch.autocast``.
"""
import contextlib
from typing import Callable, List, Optional, Sequence, Union

import torch
from mmengine import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn
from tqdm import tqdm

from sapiens2.datasets.metainfo_from_config import dataset_meta_from_config

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)


def init_model(config: Union[str, Config, None], checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of a task config (a ``Config``, a file or a bundled name such as ``'seg/sapiens2_1b_seg29'``;
    ``cfg_options`` merged into it) without its pretrained-backbone ``init_cfg``, and load ``checkpoint`` strictly
    (.safetensors or MMEngine .pth, or a Hugging Face Hub id ``hf://owner/name``). ``config=None`` takes the config
    of a Hub ``checkpoint`` (:func:`sapiens2.utils.hub.config_for_checkpoint`). The config is kept as ``model.cfg``
    and its test dataset's metainfo as ``model.dataset_meta`` (:func:`dataset_meta_from_config`)."""
    import sapiens2.datasets  # noqa: F401
    from sapiens2.models.builder import build_without_weights
    from sapiens2.utils.hub import load_model_config
    from sapiens2.utils.package_files import load_config
    cfg = load_config(load_model_config(config, checkpoint))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {config if config is not None else checkpoint!r} has no `model` (a backbone-only '
                         'config: load the checkpoint with sapiens2.apis.init_backbone or as a backbone init_cfg)')
    init_default_scope(cfg.get('default_scope', 'sapiens2'))
    model = build_without_weights(cfg.model)  # no pretrained-backbone download (training only)
    if checkpoint is not None:
        from sapiens2.utils.checkpoint import load_pretrained
        load_pretrained(model, checkpoint)
    model.cfg = cfg
    model.dataset_meta = dataset_meta_from_config(cfg)
    return model.to(device).eval()


def is_loading_step(step: dict) -> bool:
    """A pipeline step that reads files (images, annotations): its type, scope prefix removed, starts with 'Load'."""
    return step['type'].split('.')[-1].startswith('Load')


def build_test_pipeline(cfg: Config) -> Compose:
    """The config's ``test_pipeline`` without the steps that read files (``LoadImageFromFile``, ``LoadPoseImage``,
    ``LoadDenseAnnotations``, ...): it takes data dicts holding the image array ``img``."""
    return Compose([step for step in cfg.test_pipeline if not is_loading_step(step)])


def select_device(device: str) -> str:
    """``device`` as given; an error when it names CUDA and CUDA is not available."""
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device} requested but CUDA is not available')
    return device


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
