"""Pictures of matting predictions: the alpha matte as an 8-bit image and the pre-multiplied foreground composited
over a checkerboard (or any background). Images are H×W×3 uint8 BGR (OpenCV)."""
from typing import Optional

import numpy as np


def checkerboard(height: int, width: int, cell: int = 16, light: int = 200, dark: int = 120) -> np.ndarray:
    """H×W×3 uint8 grey checkerboard with ``cell``-pixel squares (the usual transparency backdrop)."""
    v, u = np.mgrid[0:height, 0:width]
    board = np.where(((v // cell) + (u // cell)) % 2 == 0, light, dark).astype(np.uint8)
    return np.repeat(board[..., None], 3, axis=2)


def alpha_to_png(alpha: np.ndarray) -> np.ndarray:
    """α H×W in [0, 1] -> H×W uint8 (round(255·α))."""
    return np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


def composite_bgr(foreground: np.ndarray, alpha: np.ndarray, background: Optional[np.ndarray] = None) -> np.ndarray:
    """Pre-multiplied foreground α·F (H×W×3 RGB in [0, 1]) over ``background`` (H×W×3 uint8 BGR; default a
    checkerboard): α·F + (1 − α)·B, returned as H×W×3 uint8 BGR."""
    h, w = alpha.shape
    if background is None:
        background = checkerboard(h, w)
    bg = background[..., ::-1].astype(np.float32) / 255
    a = np.clip(alpha, 0, 1)[..., None]
    out = np.clip(foreground, 0, 1) + (1 - a) * bg
    return np.round(np.clip(out, 0, 1)[..., ::-1] * 255).astype(np.uint8)
