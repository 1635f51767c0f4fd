"""COCO-WholeBody (133 keypoints) read into the 308-keypoint layout: the 53 shared keypoints are copied, the other
255 are invisible (0, 0, 0)."""
from typing import Optional

import numpy as np
from mmengine.config import Config

from sapiens2.registry import DATASETS
from .keypoints308_dataset import KEYPOINTS308_METAINFO_FILE, Keypoints308Dataset

# COCO-WholeBody part order of the 133 keypoints (as mmpose's CocoWholeBodyDataset): body 17, foot 6, face 68,
# left hand 21, right hand 21
COCO_WHOLEBODY_PARTS = (('keypoints', 17), ('foot_kpts', 6), ('face_kpts', 68), ('lefthand_kpts', 21),
                        ('righthand_kpts', 21))


def load_coco_wholebody133_to_keypoints308() -> dict:
    """{COCO-WholeBody-133 index: 308 index} for the 53 shared keypoints, from the generated metainfo config."""
    return dict(Config.fromfile(KEYPOINTS308_METAINFO_FILE).coco_wholebody133_to_keypoints308)


def coco_wholebody_to_keypoints308(ann: dict, mapping: dict, num_keypoints: int = 308) -> np.ndarray:
    """One COCO-WholeBody annotation -> keypoints [308, 3] (x, y, v); unmapped keypoints are (0, 0, 0)."""
    parts = []
    for key, count in COCO_WHOLEBODY_PARTS:
        values = np.asarray(ann.get(key, [0.0] * 3 * count), dtype=np.float32)
        if values.size != 3 * count:
            raise ValueError(f'annotation id {ann.get("id")}: {key} has {values.size} values, expected {3 * count}')
        parts.append(values.reshape(count, 3))
    kpts133 = np.concatenate(parts)
    out = np.zeros((num_keypoints, 3), dtype=np.float32)
    src = np.fromiter(mapping.keys(), dtype=np.int64)
    dst = np.fromiter(mapping.values(), dtype=np.int64)
    out[dst] = kpts133[src]
    return out


@DATASETS.register_module()
class CocoWholeBody308Dataset(Keypoints308Dataset):
    """COCO-WholeBody annotation files (``keypoints`` + ``foot_kpts`` + ``face_kpts`` + ``lefthand_kpts`` +
    ``righthand_kpts``) as a 308-keypoint dataset; ``raw_ann_info`` (used by ``CocoMetric``) holds the 308 layout."""

    def keypoints308(self, ann: dict) -> Optional[np.ndarray]:
        if 'keypoints' not in ann:
            return None
        if not hasattr(self, '_cwb_map'):
            self._cwb_map = load_coco_wholebody133_to_keypoints308()
        return coco_wholebody_to_keypoints308(ann, self._cwb_map, self.metainfo['num_keypoints'])
