"""MMEngine's local checkpoint loader made to read ``.safetensors`` and our own MMEngine ``.pth`` on torch >= 2.6.

``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and MMEngine checkpoints hold message hubs and numpy
objects, so ``load_from``, ``resume`` and :func:`mmengine.runner.load_checkpoint` fail on the files MMEngine itself
wrote. Importing :mod:`sapiens2.engine` replaces the loader of local paths (prefix ``''``) with
:func:`load_from_local` and registers it for ``hf://`` too: Hugging Face Hub ids (``hf://owner/name``, or a bare
``owner/name`` that is no local path) and folders laid out like a Hub repo resolve to a local file first
(:mod:`sapiens2.utils.hub`). URLs and other schemes keep MMEngine's loaders.
"""
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader

from sapiens2.utils.checkpoint import checkpoint_read_error, missing_checkpoint_error, read_state_dict
from sapiens2.utils.hub import HF_SCHEME, resolve_checkpoint


def load_from_local(filename: str, map_location=None) -> dict:
    """A checkpoint dict from a local file: ``.safetensors`` -> ``{'state_dict': tensors}``; ``.pth`` -> the
    MMEngine checkpoint as saved (``meta``, ``state_dict``, ``optimizer``, ``message_hub``, ...), loaded with
    ``weights_only=False`` (these are our own files, not untrusted input); a bare state dict -> ``{'state_dict': it}``.
    The runners and the DDP / FSDP strategies all read local checkpoints through this loader."""
    import torch
    filename = resolve_checkpoint(filename)
    if not osp.isfile(filename):
        raise missing_checkpoint_error(filename)  # says what the path is (e.g. a sharded FSDP directory)
    if filename.endswith(('.safetensors', '.safetensors.index.json')):
        return dict(state_dict=read_state_dict(filename, map_location or 'cpu'))
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:  # a torn file: name it
        raise checkpoint_read_error(filename, exc) from exc
    if isinstance(checkpoint, dict) and 'state_dict' not in checkpoint and checkpoint and \
            all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        checkpoint = dict(state_dict=checkpoint)  # a bare ``torch.save(model.state_dict())`` file
    return checkpoint


CheckpointLoader.register_scheme(prefixes=['', HF_SCHEME], loader=load_from_local, force=True)
