"""Albedo folders."""
from sapiens2.registry import DATASETS
from .dense_folder_dataset import DenseFolderDataset


@DATASETS.register_module()
class AlbedoDataset(DenseFolderDataset):
    """``rgb/<stem>.{png,jpg}``, ``albedo/<stem>.png`` (8-bit RGB albedo, targets in [0, 1]), optional
    ``mask/<stem>.png`` (> 0 = person)."""
    IMG_DIR = 'rgb'
    PARTNERS = dict(albedo_path=('albedo', ('.png', ), True), mask_path=('mask', ('.png', ), False))
