"""Class-weighted per-pixel cross-entropy with an ignore index (mmseg's raises on class_weight + 255)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS


@MODELS.register_module()
class WeightedCrossEntropyLoss(nn.Module):
    """loss = Σ_valid w[y]·(−log softmax(logits)[y]) / #valid pixels (pixels with label ``ignore_index`` excluded).

    Args:
        class_weight (Sequence[float], optional): one weight per class (seg29: ``seg29_class_weight``).
        ignore_index (int): label to ignore (255).
        loss_weight (float): multiplier.

    forward: logits [B, K, H, W], labels [B, H, W] (long) -> scalar.
    """

    def __init__(self, class_weight: Optional[Sequence[float]] = None, ignore_index: int = 255,
                 loss_weight: float = 1.0, loss_name: str = 'loss_ce'):
        super().__init__()
        self.class_weight = None if class_weight is None else list(class_weight)
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.dim() == 4:
            labels = labels[:, 0]
        if logits.shape[0] != labels.shape[0] or logits.shape[-2:] != labels.shape[-2:]:
            raise ValueError(f'logits {tuple(logits.shape)} and labels {tuple(labels.shape)} do not match')
        num_classes = logits.shape[1]
        weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != num_classes:
                raise ValueError(f'class_weight has {len(self.class_weight)} entries for {num_classes} classes')
            weight = logits.new_tensor(self.class_weight)
        labels = labels.long()
        valid = labels != self.ignore_index
        bad = valid & ((labels < 0) | (labels >= num_classes))
        if bad.any():
            raise ValueError(f'labels outside [0, {num_classes}) and != ignore {self.ignore_index}: '
                             f'{labels[bad].unique().tolist()}')
        loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=self.ignore_index, reduction='none')
        return self.loss_weight * loss.sum() / valid.sum().clamp(min=1)
