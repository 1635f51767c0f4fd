"""Probing a (pretrained) Sapiens2 backbone: [CLS] / patch features, [CLS] attention per head, k-NN retrieval and
PCA pictures of foreground patch features (paper figures 2, 3 and 12)."""
import json
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from sapiens2 import image_files
from sapiens2.models.backbones import Sapiens2
from sapiens2.utils.checkpoint import load_pretrained

IMAGENET_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
IMAGENET_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def parse_arch(value: str) -> Union[str, dict]:
    """A command-line ``--arch``: an arch name (``sapiens2_1b``), a JSON dict (``'{"embed_dims": 32, ...}'``) or a
    config file whose ``model.backbone.arch`` (task/pretraining configs) or ``backbone.arch`` (model bases) it
    returns."""
    if value.lstrip().startswith('{'):
        return json.loads(value)
    if value.endswith('.py'):
        cfg = Config.fromfile(value)
        backbone = cfg.model.get('backbone') if 'model' in cfg else cfg.get('backbone')
        if not backbone or 'arch' not in backbone:
            raise KeyError(f'{value} has neither model.backbone.arch nor backbone.arch')
        return backbone['arch'].to_dict() if hasattr(backbone['arch'], 'to_dict') else backbone['arch']
    return value


def init_backbone(arch='sapiens2_1b', checkpoint: Optional[str] = None, use_tokenizer=False, prefix='',
                  device='cpu') -> Sapiens2:
    """A Sapiens2 backbone (raw output) with ``checkpoint`` loaded strictly (released ``*_pretrain.safetensors`` or
    an export of tools/convert/pretrain_to_backbone.py; ``prefix`` e.g. ``'backbone.'`` for task checkpoints)."""
    backbone = Sapiens2(arch=arch, use_tokenizer=use_tokenizer, out_type='raw')
    if checkpoint:
        load_pretrained(backbone, checkpoint, prefix=prefix, strict=True)
    else:
        backbone.init_weights()
    return backbone.to(device).eval()


def preprocess(img_bgr: np.ndarray, size: Tuple[int, int] = (1024, 768)) -> torch.Tensor:
    """BGR uint8 [H0, W0, 3] -> normalised RGB [1, 3, H, W] resized to ``size`` = (H, W)."""
    img = cv2.resize(img_bgr, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32)
    img = (img - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]


@torch.no_grad()
def extract_features(backbone: Sapiens2, images: torch.Tensor) -> dict:
    """images [B, 3, H, W] -> dict(cls [B, C], patches [B, h, w, C]) after the final norm."""
    x, (h, w) = backbone.forward_features(images)
    return dict(cls=x[:, 0], patches=x[:, backbone.num_prefix_tokens:].reshape(x.shape[0], h, w, -1))


@torch.no_grad()
def cls_attention_maps(backbone: Sapiens2, images: torch.Tensor, block_index: int = -1) -> torch.Tensor:
    """Attention of the [CLS] query over the patch tokens in block ``block_index`` -> [B, heads, h, w]
    (softmax over all keys, prefix tokens included, then restricted to the patches); see
    :meth:`Sapiens2.get_attention_maps`."""
    probs = backbone.get_attention_maps(images, block_index, query_indices=[0])[0][:, :, 0]
    h, w = images.shape[-2] // backbone.input_divisor, images.shape[-1] // backbone.input_divisor
    return probs[..., backbone.num_prefix_tokens:].reshape(images.shape[0], probs.shape[1], h, w)


def extract_folder(backbone: Sapiens2, paths: Sequence[str], size: Tuple[int, int] = (1024, 768), device='cpu',
                   with_patches: bool = False) -> dict:
    """Features of image files -> dict(paths [N], cls [N, C], patches [N, h, w, C] when ``with_patches``) as numpy
    arrays; unreadable images are skipped (with a message)."""
    from tqdm import tqdm
    out = dict(paths=[], cls=[], patches=[])
    for path in tqdm(paths, desc='features'):
        img = cv2.imread(path)
        if img is None:
            tqdm.write(f'skipping unreadable image {path}')
            continue
        feats = extract_features(backbone, preprocess(img, size).to(device))
        out['paths'].append(path)
        out['cls'].append(feats['cls'][0].float().cpu().numpy())
        if with_patches:
            out['patches'].append(feats['patches'][0].float().cpu().numpy())
    if not out['paths']:
        raise ValueError('no readable images')
    result = dict(paths=np.array(out['paths']), cls=np.stack(out['cls']))
    if with_patches:
        result['patches'] = np.stack(out['patches'])
    return result


def knn_retrieval(queries: torch.Tensor, gallery: torch.Tensor, k: int = 5,
                  exclude_self: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cosine k-NN: queries [Q, C], gallery [G, C] -> (similarities [Q, k], indices [Q, k]), best first.
    ``exclude_self`` (queries == gallery) drops the trivial match."""
    sims = F.normalize(queries.float(), dim=-1) @ F.normalize(gallery.float(), dim=-1).t()
    if exclude_self:
        sims.fill_diagonal_(-float('inf'))
    k = min(k, sims.shape[1] - int(exclude_self))
    return sims.topk(k, dim=1)


def pca_rgb(patches: torch.Tensor, foreground: Optional[torch.Tensor] = None,
            threshold: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """PCA (3 components) of patch features [N, h, w, C] fitted jointly on the foreground patches.

    Foreground: given bool [N, h, w], else the patches whose first principal component (over all patches)
    exceeds ``threshold`` (sign fixed so that the minority side is the foreground, DINOv2-style).
    Returns (rgb [N, h, w, 3] in [0, 1], background 0; foreground bool [N, h, w])."""
    N, h, w, C = patches.shape
    flat = patches.reshape(-1, C).float()
    if foreground is None:
        centred = flat - flat.mean(0)
        first = torch.linalg.svd(centred, full_matrices=False)[2][0]
        score = centred @ first
        fg = score > threshold
        if fg.float().mean() > 0.5:  # the person is the minority of the patches
            fg = ~fg
        foreground = fg.reshape(N, h, w)
    fg = foreground.reshape(-1)
    if fg.sum() < 3:
        raise ValueError(f'pca_rgb: only {int(fg.sum())} foreground patches, need at least 3')
    sel = flat[fg] - flat[fg].mean(0)
    comps = torch.linalg.svd(sel, full_matrices=False)[2][:3]
    proj = sel @ comps.t()
    lo, hi = proj.min(0).values, proj.max(0).values
    rgb = torch.zeros(N * h * w, 3)
    rgb[fg] = (proj - lo) / (hi - lo).clamp(min=1e-6)
    return rgb.reshape(N, h, w, 3).numpy(), foreground.numpy()


def overlay_heatmap(img_bgr: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a [h, w] map (any range) as a JET colour map over the image; returns BGR uint8."""
    heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-12)
    heat = cv2.resize((heat * 255).astype(np.uint8), (img_bgr.shape[1], img_bgr.shape[0]),
                      interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(img_bgr, 1 - alpha, cv2.applyColorMap(heat, cv2.COLORMAP_JET), alpha, 0)


def list_images(folder: str) -> List[str]:
    """Images under ``folder`` (recursive, sorted); an image path is returned as a one-item list."""
    return image_files.list_images(folder, recursive=True, arg='images')
