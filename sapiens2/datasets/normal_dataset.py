"""Surface-normal folders."""
from sapiens2.registry import DATASETS
from .dense_folder_dataset import DenseFolderDataset


@DATASETS.register_module()
class NormalDataset(DenseFolderDataset):
    """``rgb/<stem>.{png,jpg}``, ``normal/<stem>.npy`` (H×W×3 float, camera frame x right, y down, z forward) or
    ``normal/<stem>.png`` (RGB encoding (n + 1) / 2 · 255), optional ``mask/<stem>.png`` (> 0 = person)."""
    IMG_DIR = 'rgb'
    PARTNERS = dict(normal_path=('normal', ('.npy', '.png'), True), mask_path=('mask', ('.png', ), False))
