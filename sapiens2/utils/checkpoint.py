"""Reading checkpoints (safetensors or MMEngine ``.pth``) and strict loading with a readable mismatch report."""
import os
import os.path as osp
import re
from collections import OrderedDict

import torch


class CheckpointMismatchError(RuntimeError):
    """Raised by :func:`load_state_dict_checked` when keys or shapes disagree; the message lists them all."""


def expand_path(path: str) -> str:
    return osp.expanduser(osp.expandvars(str(path)))


def read_state_dict(path: str, map_location='cpu') -> 'OrderedDict[str, torch.Tensor]':
    """Load the tensors of a ``.safetensors`` file, or the ``state_dict`` of a torch/MMEngine checkpoint."""
    path = expand_path(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return OrderedDict(load_file(path, device=str(map_location)))
    # MMEngine checkpoints hold message hubs and numpy objects: they are our own files, not untrusted input.
    ckpt = torch.load(path, map_location=map_location, weights_only=False)
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model', 'module'):
            if key in ckpt and isinstance(ckpt[key], dict):
                return OrderedDict(ckpt[key])
    return OrderedDict(ckpt)


def select_prefix(state_dict, prefix: str):
    """Keys under ``prefix`` with it removed (``prefix=''`` returns everything)."""
    if not prefix:
        return OrderedDict(state_dict)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))


def state_dict_mismatch(module: torch.nn.Module, state_dict) -> dict:
    """Compare ``state_dict`` with ``module``'s: dict of ``missing``, ``unexpected`` and ``shape_mismatch``
    (list of (key, checkpoint shape, model shape))."""
    own = module.state_dict()
    return dict(
        missing=sorted(k for k in own if k not in state_dict),
        unexpected=sorted(k for k in state_dict if k not in own),
        shape_mismatch=sorted((k, tuple(state_dict[k].shape), tuple(v.shape)) for k, v in own.items()
                              if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)),
    )


def format_mismatch(report: dict, source: str = '', limit: int = 50) -> str:
    lines = [f'checkpoint {source} does not match the model:' if source else 'checkpoint does not match the model:']
    for name in ('missing', 'unexpected'):
        keys = report[name]
        if keys:
            lines.append(f'  {len(keys)} {name} key(s): ' + ', '.join(keys[:limit]) +
                         (f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''))
    for key, ckpt_shape, model_shape in report['shape_mismatch'][:limit]:
        lines.append(f'  shape mismatch {key}: checkpoint {list(ckpt_shape)} vs model {list(model_shape)}')
    return '\n'.join(lines)


def load_state_dict_checked(module: torch.nn.Module, state_dict, strict: bool = True, source: str = '',
                            logger=None) -> dict:
    """Load ``state_dict`` into ``module``. Strict: raise :class:`CheckpointMismatchError` listing every missing,
    unexpected and shape-mismatched key. Non-strict: load what matches and log the same report."""
    report = state_dict_mismatch(module, state_dict)
    bad = any(report.values())
    if bad and strict:
        raise CheckpointMismatchError(format_mismatch(report, source))
    mismatched = {k for k, _, _ in report['shape_mismatch']}
    module.load_state_dict({k: v for k, v in state_dict.items() if k not in mismatched}, strict=False)
    if bad:
        msg = format_mismatch(report, source)
        if logger is None:
            from mmengine.logging import print_log
            print_log(msg, logger='current', level=30)
        else:
            logger.warning(msg)
    return report


def load_pretrained(module: torch.nn.Module, checkpoint: str, prefix: str = '', strict: bool = True,
                    logger=None) -> dict:
    """Load ``checkpoint`` (path, ``~`` and ``$VARS`` expanded) into ``module``, taking keys under ``prefix``
    (e.g. ``'backbone.'`` to pull a backbone out of a task checkpoint)."""
    path = expand_path(checkpoint)
    state_dict = select_prefix(read_state_dict(path), prefix)
    return load_state_dict_checked(module, state_dict, strict=strict, source=path, logger=logger)


def save_safetensors(state_dict, path: str, metadata: dict = None):
    """Write tensors (made contiguous, on CPU) to ``path`` in the safetensors format."""
    from safetensors.torch import save_file
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, path, metadata=metadata)


CHECKPOINT_DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)  # --dtype of the converters


def remap_state_dict(state_dict, src_prefix: str = '', dst_prefix: str = '', dtype: str = None):
    """Keys under ``src_prefix`` (stripped; a leading DDP ``module.`` is dropped first), renamed to
    ``dst_prefix + key``; floating tensors cast to ``dtype`` (``fp32`` / ``bf16`` / ``fp16``; None keeps them)."""
    state_dict = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    selected = select_prefix(state_dict, src_prefix)
    if not selected:
        heads = sorted({k.split('.')[0] for k in state_dict})
        raise KeyError(f'no key starts with {src_prefix!r}; top-level names in the checkpoint: {heads}')
    if dtype is not None and dtype not in CHECKPOINT_DTYPES:
        raise ValueError(f'dtype must be one of {sorted(CHECKPOINT_DTYPES)}, got {dtype!r}')
    cast = CHECKPOINT_DTYPES[dtype] if dtype else None
    return OrderedDict((dst_prefix + k, v.to(cast) if cast is not None and v.is_floating_point() else v)
                       for k, v in selected.items())
