"""Folder datasets of the dense tasks: an image folder plus partner folders matched by file stem.

A sample is one image ``<data_root>/<img dir>/<stem>.<ext>``; each partner folder holds ``<stem>.<ext>`` with one
of its allowed extensions. A missing required partner, or a partner file without an image, is an error naming both
paths. Optional partners (e.g. ``mask``) may be absent as a whole folder (then every pixel is valid).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


class DenseFolderDataset(BaseDataset):
    """Base of :class:`SegDataset`, :class:`NormalDataset`, :class:`PointmapDataset`, :class:`AlbedoDataset`.

    Subclasses set ``IMG_DIR`` and ``PARTNERS`` = {results key: (folder, extensions, required)}; each data-list
    entry holds ``img_path``, ``sample_name`` and the partner paths under their keys (None for an absent optional
    partner).

    Args:
        data_root (str): the dataset folder.
        data_prefix (dict, optional): override folder names, e.g. ``dict(img='images', seg_map_path='labels')``.
        other ``BaseDataset`` arguments (pipeline, test_mode, indices, ...).
    """
    IMG_DIR = 'rgb'
    PARTNERS: Dict[str, Tuple[str, Sequence[str], bool]] = {}

    def __init__(self, data_root: str = '', data_prefix: Optional[dict] = None, **kwargs):
        prefix = dict(img=self.IMG_DIR, **{k: v[0] for k, v in self.PARTNERS.items()})
        prefix.update(data_prefix or {})
        super().__init__(data_root=data_root, data_prefix=prefix, **kwargs)

    @staticmethod
    def _index(folder: str, extensions: Sequence[str]) -> Dict[str, str]:
        files = {}
        for name in sorted(os.listdir(folder)):
            stem, ext = osp.splitext(name)
            if ext.lower() in extensions:
                if stem in files:
                    raise ValueError(f'two files for sample {stem!r}: {files[stem]} and {osp.join(folder, name)}')
                files[stem] = osp.join(folder, name)
        return files

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix['img']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{type(self).__name__}: image folder {img_dir} does not exist')
        images = self._index(img_dir, IMG_EXTENSIONS)
        if not images:
            raise FileNotFoundError(f'{type(self).__name__}: no images ({", ".join(IMG_EXTENSIONS)}) in {img_dir}')
        partners = {}
        for key, (_, exts, required) in self.PARTNERS.items():
            folder = self.data_prefix[key]
            if not osp.isdir(folder):
                if required:
                    raise FileNotFoundError(f'{type(self).__name__}: folder {folder} ({key}) does not exist')
                continue
            files = self._index(folder, exts)
            for stem, path in files.items():
                if stem not in images:
                    raise FileNotFoundError(f'{key} file {path} has no image: expected '
                                            f'{osp.join(img_dir, stem)}{{{",".join(IMG_EXTENSIONS)}}}')
            for stem, img in images.items():
                if stem not in files:
                    raise FileNotFoundError(f'image {img} has no {key} file: expected '
                                            f'{osp.join(folder, stem)}{{{",".join(exts)}}}')
            partners[key] = files
        data_list = []
        for stem, img in images.items():
            info = dict(img_path=img, sample_name=stem)
            for key in self.PARTNERS:
                info[key] = partners[key][stem] if key in partners else None
            data_list.append(self.extra_info(info))
        return data_list

    def extra_info(self, info: dict) -> dict:
        """Hook for task-specific fields of a data-list entry."""
        return info
