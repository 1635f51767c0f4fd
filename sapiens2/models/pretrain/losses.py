"""Pretraining losses (docs/architecture.md §3.8): MAE reconstruction, DINO cross-entropy with centring, KoLeo.

Softmax / log-softmax, centring and KoLeo run in fp32 with autocast disabled.
"""
from contextlib import contextmanager
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce


@contextmanager
def fp32(device: torch.device):
    with torch.autocast(device_type=device.type, enabled=False):
        yield


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """[B, 3, H, W] -> [B, (H/p)·(W/p), p·p·3], patches row-major, pixels (row, col, channel) inside a patch."""
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f'patchify: image {H}x{W} is not divisible by patch size {p}')
    x = images.reshape(B, C, H // p, p, W // p, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(B, (H // p) * (W // p), p * p * C)


def normalize_patch_targets(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-patch normalised pixels: (x - mean) / sqrt(var + eps) over the last dim (MAE ``norm_pix_loss``)."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, unbiased=False, keepdim=True)
    return (patches - mean) / (var + eps).sqrt()


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over masked patches. pred/target [B, n, D], mask bool [B, n] (True = masked)."""
    if pred.shape != target.shape:
        raise ValueError(f'mae_loss: prediction {tuple(pred.shape)} vs target {tuple(target.shape)}')
    per_patch = (pred.float() - target.float()).pow(2).mean(dim=-1)
    mask = mask.to(per_patch.dtype)
    return (per_patch * mask).sum() / mask.sum().clamp(min=1)


def teacher_probs(teacher_logits: torch.Tensor, center: torch.Tensor, temperature: float) -> torch.Tensor:
    """Centred, sharpened teacher distribution softmax((t - center) / temperature) in fp32. [B, K] -> [B, K]."""
    with fp32(teacher_logits.device):
        return F.softmax((teacher_logits.float() - center.float()) / temperature, dim=-1)


def dino_cross_entropy(student_logits: Sequence[torch.Tensor], teacher_probs_per_view: Sequence[torch.Tensor],
                       student_temperature: float = 0.1) -> torch.Tensor:
    """DINO loss: mean over pairs (teacher global view i, student view j != i) of
    ``mean_b sum_k -p_t[b, k] · log_softmax(s_j / T_s)[b, k]``.

    The student views are ordered globals first (same order as the teacher's), then locals: global<->global pairs
    of the other view and all global<->local pairs are used; local<->local never occurs (the teacher sees globals).
    """
    total, pairs = 0.0, 0
    device = student_logits[0].device
    with fp32(device):
        log_probs = [F.log_softmax(s.float() / student_temperature, dim=-1) for s in student_logits]
        for i, p_t in enumerate(teacher_probs_per_view):
            for j, log_p in enumerate(log_probs):
                if i == j:
                    continue
                total = total + torch.sum(-p_t * log_p, dim=-1).mean()
                pairs += 1
    if pairs == 0:
        raise ValueError('dino_cross_entropy needs at least two views')
    return total / pairs


@torch.no_grad()
def target_entropies(probs: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Collapse diagnostics for teacher targets probs [N, K]: the mean per-target entropy and the entropy of the
    mean target (nats), over the global batch (the per-rank mean target and entropy are all-reduced). Healthy
    self-distillation keeps the first low and the second high; both near log K means collapse to the uniform
    distribution, both near 0 collapse to one prototype. Their difference is the mutual information between the
    image and its target."""
    p = probs.float().clamp_min(1e-12)
    entropy = -(p * p.log()).sum(-1).mean()
    mean = p.mean(dim=0)
    all_reduce(entropy, op='mean')
    all_reduce(mean, op='mean')
    return dict(teacher_entropy=entropy, teacher_batch_entropy=-(mean * mean.log()).sum())


@torch.no_grad()
def update_center(center: torch.Tensor, teacher_logits: torch.Tensor, momentum: float = 0.9) -> torch.Tensor:
    """In place ``center = m · center + (1 - m) · mean(teacher_logits)`` with the batch mean all-reduced across
    ranks. center [1, K]; teacher_logits [N, K] (all global views of the local batch). A non-finite batch mean
    (on any rank: the all-reduce spreads it) leaves the centre unchanged rather than poisoning it for good."""
    batch_center = teacher_logits.float().mean(dim=0, keepdim=True)
    all_reduce(batch_center, op='mean')
    if not torch.isfinite(batch_center).all():
        return center
    center.mul_(momentum).add_(batch_center.to(center.dtype), alpha=1 - momentum)
    return center


def koleo_loss(features: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Kozachenko-Leonenko entropy regulariser: ``-mean_i log(min_{j != i} ||x_i - x_j|| + eps)`` on
    L2-normalised features [B, C] (fp32). Needs B >= 2."""
    if features.shape[0] < 2:
        raise ValueError(f'koleo_loss needs at least 2 samples, got {features.shape[0]}')
    with fp32(features.device):
        x = F.normalize(features.float(), dim=-1, eps=eps)
        dots = x @ x.t()
        dots.fill_diagonal_(-2.0)  # exclude self
        nn_idx = dots.argmax(dim=1)  # nearest neighbour = highest cosine on the sphere
        dist = (x - x[nn_idx]).norm(dim=-1)
        return -torch.log(dist + eps).mean()
