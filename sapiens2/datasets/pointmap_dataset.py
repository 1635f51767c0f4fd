"""Pointmap folders (depth + intrinsics; the canonical pointmap is computed after the geometric transforms)."""
from sapiens2.registry import DATASETS
from .dense_folder_dataset import DenseFolderDataset


@DATASETS.register_module()
class PointmapDataset(DenseFolderDataset):
    """``rgb/<stem>.{png,jpg}``, ``depth/<stem>.npy`` (H×W float metric Z, 0 / NaN / Inf = unknown),
    ``camera_intrinsics/<stem>.txt`` (3×3 K as text, fx, fy, cx, cy in pixels), optional ``mask/<stem>.png``.

    Targets (``PackDenseInputs``): X = (u − cx)Z/fx, Y = (v − cy)Z/fy, Z, all × 768/fx (canonical focal 768);
    scale target 768/fx.
    """
    IMG_DIR = 'rgb'
    PARTNERS = dict(depth_path=('depth', ('.npy', ), True), cam_K_path=('camera_intrinsics', ('.txt', ), True),
                    mask_path=('mask', ('.png', ), False))
