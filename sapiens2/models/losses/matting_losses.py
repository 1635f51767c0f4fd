"""Matting losses (alpha L1, composition, Laplacian pyramid); the gradient loss is ``GradientLoss`` (mode 'l1') of
regression_losses.py applied to the alpha channel by :class:`MattingHead`.

Per-pixel losses take ``(pred [B, 1, H, W], target [B, 1, H, W], mask [B, 1, H, W] | None)``;
:class:`CompositionLoss` takes ``(pred_fg [B, 3, H, W], pred_alpha [B, 1, H, W], targets)`` (targets: the dict of
``gather_matting_targets`` in heads/matting_head.py) and is marked ``uses_matting_targets = True``.
"""
import torch
import torch.nn.functional as F
from torch import nn

from sapiens2.registry import MODELS
from .valid_pixels import clean_target, masked_mean, valid_mask


def unknown_region(alpha: torch.Tensor, dilation: int = 0) -> torch.Tensor:
    """alpha [B, 1, H, W] -> bool [B, 1, H, W]: 0 < α < 1, grown by ``dilation`` pixels (square max-pool)."""
    region = ((alpha > 0) & (alpha < 1)).float()
    if dilation > 0:
        region = F.max_pool2d(region, 2 * dilation + 1, stride=1, padding=dilation)
    return region > 0


@MODELS.register_module()
class AlphaLoss(nn.Module):
    """Mean |α̂ − α| over valid pixels; with ``unknown_only`` only over the transition region 0 < α < 1 (grown by
    ``unknown_dilation`` px), the trimap-free stand-in for the trimap's unknown region."""

    def __init__(self, loss_weight: float = 1.0, unknown_only: bool = False, unknown_dilation: int = 0,
                 loss_name: str = 'loss_alpha'):
        super().__init__()
        self.loss_weight, self.unknown_only, self.unknown_dilation = loss_weight, unknown_only, unknown_dilation
        self.loss_name = loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        target = clean_target(target, valid)
        if self.unknown_only:
            valid = valid & unknown_region(target, self.unknown_dilation)
        return self.loss_weight * masked_mean((pred - target).abs().mean(1, keepdim=True), valid)


def estimated_background(targets: dict, opaque: float = 0.99) -> torch.Tensor:
    """The background B under each sample -> [B, 3, H, W]. With a ground-truth foreground F (not pre-multiplied):
    B = (I − α·F) / (1 − α) where α < ``opaque``, else the image I (there B is hidden and its weight (1 − α̂) ≈ 0);
    clipped to [0, 1]. Without one: B = I, i.e. the image composited over its own background."""
    image, alpha = targets['image'], targets['alpha']
    solved = (image - alpha * targets['foreground']) / (1 - alpha).clamp(min=1 - opaque)
    solved = torch.where(alpha < opaque, solved, image).clamp(0, 1)
    return torch.where(targets['has_foreground'].view(-1, 1, 1, 1), solved, image)


@MODELS.register_module()
class CompositionLoss(nn.Module):
    """Mean over valid pixels of |Î − I|, Î = F̂ + (1 − α̂)·B: the predicted pre-multiplied foreground composited
    over the sample's background B (:func:`estimated_background`) against the image I (RGB in [0, 1]). Without a
    ground-truth foreground B is the image itself and the loss is |F̂ − α̂·I|. Needs ``gt_image`` in the data
    samples (PackMattingInputs packs it when the image and alpha have the same size, i.e. in training)."""
    uses_matting_targets = True

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_comp'):
        super().__init__()
        self.loss_weight, self.loss_name = loss_weight, loss_name

    def forward(self, pred_fg, pred_alpha, targets):
        if targets.get('image') is None:
            raise KeyError('CompositionLoss needs gt_image in every data sample (PackMattingInputs packs it when the '
                           'image and the alpha have the same size)')
        image = targets['image']
        composite = pred_fg + (1 - pred_alpha) * estimated_background(targets)
        valid = valid_mask(composite, image, targets.get('mask'))
        return self.loss_weight * masked_mean((composite - image).abs().mean(1, keepdim=True), valid)


def _binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """5×5 binomial blur ((1, 4, 6, 4, 1) / 16 in x and y), reflected borders; [B, C, H, W] -> same."""
    k = x.new_tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    c = x.shape[1]
    x = F.pad(x, (2, 2, 2, 2), mode='reflect' if min(x.shape[-2:]) > 2 else 'replicate')
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5).contiguous(), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1).contiguous(), groups=c)


def laplacian_pyramid(x: torch.Tensor, levels: int):
    """[B, C, H, W] -> ``levels`` maps: band-pass residuals x_i − up(down(x_i)) (down: blur + keep even pixels,
    up: zero-insertion ×4 + blur) and the last low-pass image. Odd sizes are cropped by one before a level."""
    pyramid = []
    for _ in range(levels - 1):
        x = x[..., :x.shape[-2] - x.shape[-2] % 2, :x.shape[-1] - x.shape[-1] % 2]
        if min(x.shape[-2:]) < 2:
            break
        down = _binomial_blur(x)[..., ::2, ::2]
        up = torch.zeros_like(x)
        up[..., ::2, ::2] = down * 4
        pyramid.append(x - _binomial_blur(up))
        x = down
    pyramid.append(x)
    return pyramid


@MODELS.register_module()
class LaplacianLoss(nn.Module):
    """Σ_i 2^i · mean |L_i(α̂) − L_i(α)| over the ``levels`` Laplacian pyramid levels (level 0 the finest), each level
    averaged over its valid pixels (the mask max-pooled to the level's size), divided by the number of levels."""

    def __init__(self, levels: int = 5, loss_weight: float = 1.0, loss_name: str = 'loss_lap'):
        super().__init__()
        if levels < 1:
            raise ValueError(f'LaplacianLoss: levels must be >= 1, got {levels}')
        self.levels, self.loss_weight, self.loss_name = levels, loss_weight, loss_name

    def forward(self, pred, target, mask=None):
        valid = valid_mask(pred, target, mask)
        # masked pixels take the prediction's value: they add no difference at any level
        target = torch.where(valid.expand_as(target), target, pred.detach())
        total = pred.new_zeros(())
        pairs = list(zip(laplacian_pyramid(pred, self.levels), laplacian_pyramid(target, self.levels)))
        for i, (p, t) in enumerate(pairs):
            level_valid = F.adaptive_max_pool2d(valid.float(), p.shape[-2:]) > 0 if p.shape != pred.shape else valid
            total = total + 2 ** i * masked_mean((p - t).abs().mean(1, keepdim=True), level_valid)
        return self.loss_weight * total / len(pairs)
