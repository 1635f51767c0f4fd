"""Soft multi-class Dice loss on softmax probabilities (docs/architecture.md §3.3)."""
import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS


@MODELS.register_module()
class DiceLoss(nn.Module):
    """Per sample and class c present in its ground truth (background c=0 excluded when ``exclude_background``):
    dice_c = (2 Σ p_c g_c + eps) / (Σ p_c + Σ g_c + eps) over non-ignored pixels; loss = mean over those (sample,
    class) pairs of 1 − dice_c.

    forward: logits [B, K, H, W], labels [B, H, W] -> scalar.
    """

    def __init__(self, ignore_index: int = 255, exclude_background: bool = True, eps: float = 1.0,
                 loss_weight: float = 1.0, loss_name: str = 'loss_dice'):
        super().__init__()
        self.ignore_index = ignore_index
        self.exclude_background = exclude_background
        self.eps = eps
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.dim() == 4:
            labels = labels[:, 0]
        num_classes = logits.shape[1]
        labels = labels.long()
        valid = (labels != self.ignore_index).unsqueeze(1).to(logits.dtype)  # [B, 1, H, W]
        probs = logits.softmax(dim=1) * valid
        onehot = F.one_hot(torch.where(labels == self.ignore_index, 0, labels), num_classes)
        onehot = onehot.permute(0, 3, 1, 2).to(logits.dtype) * valid
        inter = (probs * onehot).sum((2, 3))  # [B, K]
        denom = probs.sum((2, 3)) + onehot.sum((2, 3))
        dice = (2 * inter + self.eps) / (denom + self.eps)
        present = onehot.sum((2, 3)) > 0
        if self.exclude_background:
            present[:, 0] = False
        if not present.any():
            return logits.sum() * 0.0
        return self.loss_weight * (1 - dice[present]).mean()
