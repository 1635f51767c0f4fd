"""Matting folders."""
from sapiens2.registry import DATASETS
from .dense_folder_dataset import DenseFolderDataset


@DATASETS.register_module()
class MattingDataset(DenseFolderDataset):
    """``images/<stem>.{png,jpg,...}``; ``alphas/<stem>.png`` (single-channel 8- or 16-bit alpha matte, or a JPEG);
    optional ``foregrounds/<stem>.{png,jpg}`` (RGB foreground colour F, not pre-multiplied, as in Composition-1k /
    Distinctions-646) and optional ``trimaps/<stem>.png`` (0 background, 128 unknown, 255 foreground; the metric's
    region). Each optional folder may be absent as a whole; present, it must hold a file for every image."""
    IMG_DIR = 'images'
    PARTNERS = dict(alpha_path=('alphas', ('.png', '.jpg', '.jpeg'), True),
                    foreground_path=('foregrounds', ('.png', '.jpg', '.jpeg'), False),
                    trimap_path=('trimaps', ('.png', ), False))
