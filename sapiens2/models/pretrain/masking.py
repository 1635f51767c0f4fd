"""Mixed blockwise / patchwise token masking with an exact masked count per image (docs/architecture.md §3.8, MAE branch)."""
import math
import random
from typing import Optional, Tuple

import torch


class BlockPatchMaskGenerator:
    """Masks exactly ``round(mask_ratio · h·w)`` patches of every image.

    With probability ``block_prob`` an image gets a blockwise mask (BEiT-style random rectangles, topped up with
    random single patches to the exact count), otherwise a uniformly random patchwise mask.

    Args:
        mask_ratio (float): fraction of patches masked (0.75).
        block_prob (float): probability of the blockwise mode (0.4).
        min_block_patches (int): smallest rectangle area, in patches.
        aspect_range (tuple): (min, max) height/width ratio of the rectangles.
        max_attempts (int): failed rectangle draws before the top-up.
    Call:
        ``gen(batch, h, w, device)`` -> bool mask [B, h·w], True = masked (row-major over the h×w grid).
    """

    def __init__(self, mask_ratio: float = 0.75, block_prob: float = 0.4, min_block_patches: int = 4,
                 aspect_range: Tuple[float, float] = (0.3, 1 / 0.3), max_attempts: int = 10):
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
        if not 0.0 <= block_prob <= 1.0:
            raise ValueError(f'block_prob must be in [0, 1], got {block_prob}')
        self.mask_ratio = mask_ratio
        self.block_prob = block_prob
        self.min_block_patches = min_block_patches
        self.log_aspect = (math.log(aspect_range[0]), math.log(aspect_range[1]))
        self.max_attempts = max_attempts

    def num_masked(self, h: int, w: int) -> int:
        return int(round(self.mask_ratio * h * w))

    def sample_block(self, h: int, w: int, max_area: int, rng: random.Random) -> Optional[Tuple[int, int, int, int]]:
        """A random rectangle (top, left, height, width) inside the h×w grid with min_block_patches <= area <=
        max_area, or None when the draw fails."""
        if max_area < self.min_block_patches:
            return None
        area = rng.uniform(self.min_block_patches, max_area)
        aspect = math.exp(rng.uniform(*self.log_aspect))
        bh = int(round(math.sqrt(area * aspect)))
        bw = int(round(math.sqrt(area / aspect)))
        if not (1 <= bh <= h and 1 <= bw <= w) or not self.min_block_patches <= bh * bw <= max_area:
            return None
        return rng.randint(0, h - bh), rng.randint(0, w - bw), bh, bw

    def block_mask(self, h: int, w: int, rng: random.Random) -> torch.Tensor:
        """Blockwise bool mask [h, w] with exactly :meth:`num_masked` True entries."""
        target = self.num_masked(h, w)
        mask = torch.zeros(h, w, dtype=torch.bool)
        failures = 0
        while failures < self.max_attempts:
            count = int(mask.sum())
            block = self.sample_block(h, w, target - count, rng)
            if block is None:
                failures += 1
                continue
            top, left, bh, bw = block
            new = (~mask[top:top + bh, left:left + bw]).sum()
            if new == 0 or count + new > target:
                failures += 1
                continue
            mask[top:top + bh, left:left + bw] = True
        flat = mask.flatten()
        remaining = target - int(flat.sum())
        if remaining > 0:  # top up with random single patches so that the count is exact
            free = (~flat).nonzero().flatten().tolist()
            flat[rng.sample(free, remaining)] = True
        return flat.view(h, w)

    def patch_mask(self, h: int, w: int, rng: random.Random) -> torch.Tensor:
        """Uniformly random bool mask [h, w] with exactly :meth:`num_masked` True entries."""
        flat = torch.zeros(h * w, dtype=torch.bool)
        flat[rng.sample(range(h * w), self.num_masked(h, w))] = True
        return flat.view(h, w)

    def __call__(self, batch: int, h: int, w: int, device=None, rng: Optional[random.Random] = None) -> torch.Tensor:
        rng = rng or random.Random(torch.randint(0, 2**31 - 1, ()).item())  # follows torch's seed
        masks = [self.block_mask(h, w, rng) if rng.random() < self.block_prob else self.patch_mask(h, w, rng)
                 for _ in range(batch)]
        return torch.stack(masks).flatten(1).to(device)


def split_visible(mask: torch.Tensor):
    """bool mask [B, n] with the same count per row -> (ids_keep [B, n_vis], ids_masked [B, n_mask]), ascending."""
    counts = mask.sum(1)
    if not bool((counts == counts[0]).all()):
        raise ValueError(f'every image must mask the same number of patches, got counts {counts.tolist()}')
    order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)  # visible (0) first, in raster order
    n_vis = mask.shape[1] - int(counts[0])
    return order[:, :n_vis], order[:, n_vis:]
