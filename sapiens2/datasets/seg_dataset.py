"""Body-part segmentation folders (29 classes, ``configs/_base_/datasets/seg29.py``)."""
from typing import Dict, Optional, Union

from sapiens2.registry import DATASETS
from .dense_folder_dataset import DenseFolderDataset
from .json_files import load_json


@DATASETS.register_module()
class SegDataset(DenseFolderDataset):
    """``images/<stem>.{png,jpg}`` + ``masks/<stem>.png`` (8-bit class ids 0–28, 255 = ignore).

    Args:
        label_map (dict | str, optional): source-taxonomy remapping {source id: seg29 id} (or a JSON file of it);
            source ids not in the map become 255. Applied by ``LoadDenseAnnotations``.
        metainfo: defaults to seg29 (``classes``, ``palette``) from the config. Mask ids must be < len(classes) or
            255 (checked at load time, the error names the mask); without ``classes`` only ids > 255 are refused.
    """
    IMG_DIR = 'images'
    PARTNERS = dict(seg_map_path=('masks', ('.png', ), True))

    def __init__(self, *args, label_map: Optional[Union[Dict[int, int], str]] = None, **kwargs):
        if isinstance(label_map, str):
            label_map = load_json(label_map, 'label map')
        self.label_map = None if label_map is None else {int(k): int(v) for k, v in label_map.items()}
        super().__init__(*args, **kwargs)

    def extra_info(self, info: dict) -> dict:
        # num_classes (from metainfo ``classes``) lets LoadDenseAnnotations refuse out-of-range ids naming the mask
        classes = self.metainfo.get('classes')
        info.update(label_map=self.label_map, reduce_zero_label=False, seg_fields=[],
                    num_classes=len(classes) if classes else None)
        return info
