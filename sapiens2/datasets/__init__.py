from .albedo_dataset import AlbedoDataset
from .coco_wholebody308_dataset import CocoWholeBody308Dataset
from .dense_folder_dataset import DenseFolderDataset
from .image_folder_dataset import ImageFolderDataset
from .keypoints308_dataset import Keypoints308Dataset
from .matting_dataset import MattingDataset
from .metainfo_from_config import dataset_meta_from_config
from .normal_dataset import NormalDataset
from .pointmap_dataset import PointmapDataset
from .seg_dataset import SegDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AlbedoDataset', 'CocoWholeBody308Dataset', 'DenseFolderDataset', 'ImageFolderDataset', 'Keypoints308Dataset',
    'MattingDataset', 'NormalDataset', 'PointmapDataset', 'SegDataset', 'dataset_meta_from_config'
]
