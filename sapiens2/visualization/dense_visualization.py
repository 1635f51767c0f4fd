"""Pictures of dense predictions: seg overlay with a class legend, normals as RGB, depth colour map, albedo next to
the input, and a ``.ply`` point cloud writer. Images are H×W×3 uint8 BGR (OpenCV)."""
from typing import Optional, Sequence

import cv2
import numpy as np


def seg_overlay(img: np.ndarray, labels: np.ndarray, palette: Sequence[Sequence[int]], classes: Sequence[str],
                alpha: float = 0.5, legend: bool = True) -> np.ndarray:
    """Blend the class colours (palette is RGB) over ``img``; background (0) is left as is; a legend of the classes
    present is drawn on a panel to the right."""
    colours = np.asarray(palette, np.uint8)[:, ::-1]  # RGB -> BGR
    lab = np.where(labels < len(colours), labels, 0)
    out = img.copy()
    fg = lab > 0
    out[fg] = (img[fg] * (1 - alpha) + colours[lab[fg]] * alpha).astype(np.uint8)
    if not legend:
        return out
    present = [c for c in np.unique(lab) if c > 0]
    row = 18
    panel = np.full((max(img.shape[0], row * (len(present) + 1)), 170, 3), 255, np.uint8)
    for i, c in enumerate(present):
        y = row * i + 4
        cv2.rectangle(panel, (4, y), (18, y + 12), tuple(int(v) for v in colours[c]), -1)
        cv2.putText(panel, str(classes[c]), (24, y + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    canvas = np.full((panel.shape[0], img.shape[1] + panel.shape[1], 3), 255, np.uint8)
    canvas[:img.shape[0], :img.shape[1]] = out
    canvas[:, img.shape[1]:] = panel
    return canvas


def normal_to_bgr(normal: np.ndarray, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Unit normals H×W×3 (x, y, z) -> colours (n + 1) / 2 as RGB, returned as BGR; black outside ``mask``."""
    rgb = np.clip((normal + 1) * 127.5, 0, 255).astype(np.uint8)
    if mask is not None:
        rgb[~mask.astype(bool)] = 0
    return rgb[..., ::-1].copy()


def depth_to_colormap(depth: np.ndarray, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Depth H×W -> INFERNO colour map (near = bright) normalised over the ``mask`` pixels; black outside."""
    valid = np.isfinite(depth) if mask is None else (mask.astype(bool) & np.isfinite(depth))
    out = np.zeros(depth.shape + (3, ), np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth[valid], (1, 99))
    norm = 1 - np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
    coloured = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    out[valid] = coloured[valid]
    return out


def albedo_side_by_side(img: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Input | albedo (H×W×3 RGB in [0, 1]) as one BGR picture."""
    alb = (np.clip(albedo, 0, 1) * 255).astype(np.uint8)[..., ::-1]
    return np.concatenate([img, alb], axis=1)


def save_point_cloud_ply(path: str, points: np.ndarray, colours_bgr: np.ndarray,
                         mask: Optional[np.ndarray] = None) -> int:
    """Write an ASCII ``.ply`` of the points H×W×3 (x, y, z) with RGB colours; returns the number of points."""
    valid = np.isfinite(points).all(-1)
    if mask is not None:
        valid &= mask.astype(bool)
    pts, cols = points[valid], colours_bgr[valid][:, ::-1]
    with open(path, 'w') as f:
        f.write(f'ply\nformat ascii 1.0\nelement vertex {len(pts)}\nproperty float x\nproperty float y\n'
                'property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n')
        for p, c in zip(pts, cols):
            f.write(f'{p[0]:.5f} {p[1]:.5f} {p[2]:.5f} {c[0]} {c[1]} {c[2]}\n')
    return len(pts)
