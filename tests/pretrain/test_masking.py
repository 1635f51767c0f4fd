"""Mask generator: exact counts, rectangle blocks, visible-token split."""
import random

import numpy as np
import pytest
import torch
from scipy import ndimage

from sapiens2.models.pretrain import BlockPatchMaskGenerator, split_visible


@pytest.mark.parametrize('block_prob', [0.0, 0.4, 1.0])
@pytest.mark.parametrize('hw', [(64, 48), (8, 6), (4, 3)])
def test_exact_mask_count(block_prob, hw):
    torch.manual_seed(0)
    gen = BlockPatchMaskGenerator(mask_ratio=0.75, block_prob=block_prob)
    mask = gen(6, *hw)
    assert mask.shape == (6, hw[0] * hw[1]) and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == [round(0.75 * hw[0] * hw[1])] * 6


def test_sampled_blocks_are_inside_rectangles():
    gen = BlockPatchMaskGenerator(min_block_patches=4, aspect_range=(0.3, 1 / 0.3))
    rng = random.Random(0)
    blocks = [gen.sample_block(16, 12, 60, rng) for _ in range(300)]
    blocks = [b for b in blocks if b is not None]
    assert len(blocks) > 100
    for top, left, bh, bw in blocks:
        assert 0 <= top and top + bh <= 16 and 0 <= left and left + bw <= 12
        assert 4 <= bh * bw <= 60
        assert 0.3 / 1.5 <= bh / bw <= 1.5 / 0.3  # aspect within range up to rounding
    assert gen.sample_block(16, 12, 3, rng) is None  # below the minimum area


def test_block_masks_are_clustered():
    """Blockwise masks form a few connected rectangles; random patchwise masks scatter into many regions."""
    gen = BlockPatchMaskGenerator(mask_ratio=0.5, min_block_patches=16, max_attempts=50)
    rng = random.Random(1)
    block_regions = np.mean([ndimage.label(gen.block_mask(32, 24, rng).numpy())[1] for _ in range(10)])
    patch_regions = np.mean([ndimage.label(gen.patch_mask(32, 24, rng).numpy())[1] for _ in range(10)])
    assert block_regions * 3 < patch_regions


def test_split_visible():
    mask = torch.tensor([[True, False, True, False], [False, False, True, True]])
    keep, masked = split_visible(mask)
    assert keep.tolist() == [[1, 3], [0, 1]] and masked.tolist() == [[0, 2], [2, 3]]
    with pytest.raises(ValueError, match='same number'):
        split_visible(torch.tensor([[True, False], [False, False]]))
