from .dino_head import DINOProjectionHead
from .losses import (dino_cross_entropy, koleo_loss, mae_loss, normalize_patch_targets, patchify, teacher_probs,
                     target_entropies, update_center)
from .mae_decoder import MAEDecoder
from .masking import BlockPatchMaskGenerator, split_visible
from .pretrainer import Sapiens2Pretrainer

__all__ = [
    'DINOProjectionHead', 'MAEDecoder', 'BlockPatchMaskGenerator', 'split_visible', 'Sapiens2Pretrainer',
    'dino_cross_entropy', 'koleo_loss', 'mae_loss', 'normalize_patch_targets', 'patchify', 'teacher_probs',
    'target_entropies', 'update_center'
]
