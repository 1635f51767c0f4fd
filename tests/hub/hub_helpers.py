"""Shared by the Hub tests: tiny task models with random weights, the exporter, and a Hugging Face cache folder laid
out exactly as ``huggingface_hub`` writes it (``models--owner--name/{refs/main, snapshots/<commit>/...}``)."""
import importlib.util
import os
import os.path as osp
import shutil

import torch
from conftest import REPO_ROOT, TINY_ARCH, TINY_GQA_ARCH
from mmengine.registry import init_default_scope

from sapiens2.utils.package_files import get_config

# Task -> tiny bundled config (128x96 inputs). 'backbone' is the bare tiny backbone config.
TINY_CONFIGS = {
    'pose': 'pose/sapiens2_tiny_308kpt_coco_wholebody_sample',
    'seg': 'seg/sapiens2_tiny_seg29_synthetic',
    'normal': 'geometry/sapiens2_tiny_normal_synthetic',
    'pointmap': 'geometry/sapiens2_tiny_pointmap_synthetic',
    'albedo': 'geometry/sapiens2_tiny_albedo_synthetic',
    'matting': 'matting/sapiens2_tiny_matting_synthetic',
    'backbone': '_base_/models/sapiens2_tiny',
}
COMMIT = '0123456789abcdef0123456789abcdef01234567'  # a snapshot's commit hash in the fake cache


def tiny_config(task: str, gqa: bool = True, rope_dtype: str = 'fp32'):
    """The tiny config of ``task`` with an 18-block backbone (middle blocks with grouped-query attention) or the
    2-block one, RoPE in ``rope_dtype``, no pretrained backbone."""
    cfg = get_config(TINY_CONFIGS[task])
    backbone = cfg.model.backbone if 'model' in cfg else cfg.backbone
    arch = dict(TINY_GQA_ARCH if gqa else TINY_ARCH)
    backbone.arch = arch
    backbone.pos_embed_rope_dtype = rope_dtype
    backbone.pop('init_cfg', None)
    if 'model' in cfg:
        cfg.model.decode_head.in_channels = arch['embed_dims']
    return cfg


def build_random(cfg, seed: int = 0):
    """The config's model (or backbone) with every parameter drawn from N(0, 0.1²), so that every weight matters,
    except the q / k norm weights, N(3, 0.5²) (peaked attention, so that RoPE, i.e. positions, matters too) and the
    layer scales, N(1, 0.1²) (the attention is not drowned by the residual stream)."""
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    init_default_scope('sapiens2')
    model = MODELS.build(cfg.model if 'model' in cfg else cfg.backbone)
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if name.endswith(('q_norm.weight', 'k_norm.weight')):
            p.data = 3 + 0.5 * torch.randn(p.shape, generator=gen)
        elif name.endswith('gamma.weight'):
            p.data = 1 + 0.1 * torch.randn(p.shape, generator=gen)
        else:
            p.data = torch.randn(p.shape, generator=gen) * 0.1
    return model.eval()


def load_to_hf():
    """tools/convert/to_hf.py as a module (run in-process: no interpreter start per test)."""
    spec = importlib.util.spec_from_file_location('to_hf', osp.join(REPO_ROOT, 'tools', 'convert', 'to_hf.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_to_cache(cache_dir: str, repo_id: str, folder: str = None, files: dict = None, commit: str = COMMIT,
                 ref: str = 'main') -> str:
    """Put a repo into a Hugging Face cache: the files of ``folder`` (and ``files``: name -> source path) under
    ``snapshots/<commit>/``, ``refs/<ref>`` pointing at the commit. Returns the snapshot folder."""
    repo = osp.join(cache_dir, 'models--' + repo_id.replace('/', '--'))
    snapshot = osp.join(repo, 'snapshots', commit)
    os.makedirs(snapshot, exist_ok=True)
    sources = dict(files or {})
    if folder is not None:
        sources.update({name: osp.join(folder, name) for name in os.listdir(folder)})
    for name, src in sources.items():
        os.makedirs(osp.dirname(osp.join(snapshot, name)), exist_ok=True)
        shutil.copy(src, osp.join(snapshot, name))
    os.makedirs(osp.join(repo, 'refs'), exist_ok=True)
    with open(osp.join(repo, 'refs', ref), 'w') as f:
        f.write(commit)
    return snapshot


def model_outputs(model, x):
    """Raw network outputs: the decode head's on the last featmap (pointmap: (pointmap, scale)), or the backbone's."""
    with torch.no_grad():
        if hasattr(model, 'decode_head'):
            return model.decode_head(model.backbone(x)[-1])
        return model(x)[-1]
