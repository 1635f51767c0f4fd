"""Reading checkpoints (safetensors or MMEngine ``.pth``) and strict loading with a readable mismatch report."""
import os
import os.path as osp
import re
from collections import OrderedDict

import torch


class CheckpointMismatchError(RuntimeError):
    """Raised by :func:`load_state_dict_checked` when keys or shapes disagree; the message lists them all."""


class CheckpointReadError(RuntimeError):
    """A checkpoint file that exists but cannot be read; the message names the file, what is wrong and what to do."""


def missing_checkpoint_error(path: str) -> FileNotFoundError:
    """The error for a checkpoint path that is not a readable file, saying what the path is instead."""
    if osp.isdir(path):
        names = os.listdir(path)
        if '.metadata' in names:
            return FileNotFoundError(
                f'{path} is a sharded FSDP checkpoint (a torch.distributed.checkpoint directory), which only a config '
                'with the FSDP strategy (configs/_base_/strategies/fsdp.py) resumes or loads. To use it here, '
                f'consolidate it into one file: python tools/convert/consolidate_fsdp.py {path} model.safetensors')
        if any(n.endswith('.distcp') for n in names):
            return FileNotFoundError(
                f'{path} is an incomplete FSDP checkpoint: it has shard files but no .metadata, which is written '
                'last (the save was interrupted); use an earlier checkpoint')
        return FileNotFoundError(f'{path} is a directory, not a checkpoint file (.pth / .safetensors)')
    if osp.lexists(path + '.partial'):
        return FileNotFoundError(f'checkpoint not found: {path}; {path}.partial is a save that was interrupted '
                                 '(incomplete, not usable): use an earlier checkpoint')
    return FileNotFoundError(f'checkpoint not found: {path}')


def checkpoint_read_error(path: str, exc: BaseException) -> CheckpointReadError:
    """Wrap the error of a failed read (torn file, wrong format) into one that names the file and the remedy."""
    size = osp.getsize(path) if osp.isfile(path) else 0
    if path.endswith('.safetensors'):
        what = ('it is not a complete safetensors file (truncated by an interrupted download or copy, or another '
                'format): download or copy it again')
    else:
        what = ('it is not a complete torch checkpoint (truncated by an interrupted save or copy, or another format): '
                'use an earlier checkpoint or copy it again')
    return CheckpointReadError(f'cannot read checkpoint {path} ({size} bytes): {what}. '
                               f'({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ""})')


def expand_path(path: str) -> str:
    return osp.expanduser(osp.expandvars(str(path)))


def read_state_dict(path: str, map_location='cpu') -> 'OrderedDict[str, torch.Tensor]':
    """Load the tensors of a ``.safetensors`` file, or the ``state_dict`` of a torch/MMEngine checkpoint. ``path`` may
    also be a Hugging Face Hub id (``hf://owner/name``) or a folder laid out like a Hub repo (:mod:`.hub`)."""
    from .hub import read_safetensors_index, resolve_checkpoint
    path = resolve_checkpoint(path)
    if not osp.isfile(path):
        raise missing_checkpoint_error(path)
    if path.endswith('.safetensors.index.json'):
        return read_safetensors_index(path, map_location)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            return OrderedDict(load_file(path, device=str(map_location)))
        except Exception as exc:  # safetensors' own errors do not name the file
            raise checkpoint_read_error(path, exc) from exc
    # MMEngine checkpoints hold message hubs and numpy objects: they are our own files, not untrusted input.
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise checkpoint_read_error(path, exc) from exc
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model', 'module'):
            if key in ckpt and isinstance(ckpt[key], dict):
                return OrderedDict(ckpt[key])
    return OrderedDict(ckpt)


MODULE_PREFIX = r'^module\.'  # what DDP (and MMEngine's model wrappers) put before every key
DDP_REVISE_KEYS = ((MODULE_PREFIX, ''), )  # the runners' and strategies' default ``revise_keys`` (MMEngine's)
# every wrapper name a key can carry: DDP, torch.compile (leading), activation checkpointing, FSDP1 (anywhere)
WRAPPER_PREFIXES = r'^(module\.|_orig_mod\.)|(_checkpoint_wrapped_module\.|_fsdp_wrapped_module\.)'


def revise_state_dict_keys(state_dict, revise_keys=DDP_REVISE_KEYS):
    """``state_dict`` (same mapping type) with each ``(pattern, replacement)`` of ``revise_keys`` applied in turn to
    every key by ``re.sub`` (MMEngine's ``revise_keys``; the default drops a leading ``module.``)."""
    for pattern, repl in revise_keys:
        state_dict = type(state_dict)((re.sub(pattern, repl, k), v) for k, v in state_dict.items())
    return state_dict


def select_prefix(state_dict, prefix: str):
    """Keys under ``prefix`` with it removed (``prefix=''`` returns everything)."""
    if not prefix:
        return OrderedDict(state_dict)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))


def state_dict_mismatch(module: torch.nn.Module, state_dict) -> dict:
    """Compare ``state_dict`` with ``module``'s: dict of ``missing``, ``unexpected`` and ``shape_mismatch``
    (list of (key, checkpoint shape, model shape)). Buffers a module rebuilds itself when a checkpoint lacks them
    (its ``recomputable_buffers``: RoPE periods, which transformers does not save) are not missing."""
    own = module.state_dict()
    rebuilt = {f'{name}.{b}' if name else b for name, m in module.named_modules()
               for b in getattr(m, 'recomputable_buffers', ())}
    return dict(
        missing=sorted(k for k in own if k not in state_dict and k not in rebuilt),
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
    state_dict = revise_state_dict_keys(OrderedDict(state_dict))
    selected = select_prefix(state_dict, src_prefix)
    if not selected:
        heads = sorted({k.split('.')[0] for k in state_dict})
        raise KeyError(f'no key starts with {src_prefix!r}; top-level names in the checkpoint: {heads}')
    if dtype is not None and dtype not in CHECKPOINT_DTYPES:
        raise ValueError(f'dtype must be one of {sorted(CHECKPOINT_DTYPES)}, got {dtype!r}')
    cast = CHECKPOINT_DTYPES[dtype] if dtype else None
    return OrderedDict((dst_prefix + k, v.to(cast) if cast is not None and v.is_floating_point() else v)
                       for k, v in selected.items())
