"""The metadata a model was trained for, read from its config: the metainfo of the dataset the config tests on."""
from typing import Optional

from sapiens2.registry import DATASETS


def dataset_meta_from_config(cfg) -> Optional[dict]:
    """The metainfo of the dataset the config tests on (``test_dataloader``, else ``val_dataloader``), as that
    dataset parses it: its class's ``METAINFO`` updated by the config's ``metainfo`` (for pose datasets mmpose's
    ``parse_pose_metainfo``: keypoint names, ``flip_indices``, skeleton, sigmas of the 308 file or of mmpose's
    COCO-17 / COCO-WholeBody-133 files; for segmentation ``classes`` and ``palette``). None when the config names
    no dataset type that is registered."""
    for key in ('test_dataloader', 'val_dataloader'):
        dataset_cfg = (cfg.get(key) or {}).get('dataset')
        if dataset_cfg and dataset_cfg.get('type'):
            dataset_type = dataset_cfg['type']
            dataset_cls = dataset_type if isinstance(dataset_type, type) else DATASETS.get(dataset_type)
            if dataset_cls is not None:
                metainfo = dataset_cfg.get('metainfo')
                return dataset_cls._load_metainfo(None if metainfo is None else dict(metainfo))
    return None
