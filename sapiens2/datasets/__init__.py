from .albedo_dataset import AlbedoDataset
from .dense_folder_dataset import DenseFolderDataset
from .normal_dataset import NormalDataset
from .pointmap_dataset import PointmapDataset
from .seg_dataset import SegDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['AlbedoDataset', 'DenseFolderDataset', 'NormalDataset', 'PointmapDataset', 'SegDataset']
