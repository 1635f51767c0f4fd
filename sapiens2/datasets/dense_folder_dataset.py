"""Folder datasets of the dense tasks: an image folder plus partner folders matched by file stem.

A sample is one image ``<data_root>/<img dir>/<stem>.<ext>``; each partner folder holds ``<stem>.<ext>`` with one
of its allowed extensions. A missing required partner, or a partner file without an image, is an error naming both
paths. Optional partners (e.g. ``mask``) may be absent as a whole folder (then every pixel is valid).

An image that cannot be read (missing, empty, truncated or not an image) is skipped in training (logged with its
path, counted in ``skipped_paths``; MMEngine's dataset draws another sample) and stops testing with
:class:`UnreadableImageError` naming the file (a metric over fewer images would be silently different).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from sapiens2.image_files import IMG_EXTENSIONS


class UnreadableImageError(OSError):
    """An image of a dense dataset could not be read; the message names the file and why."""


def image_problem(path: str) -> Optional[str]:
    """Why the image at ``path`` cannot be used ('does not exist', 'is empty (0 bytes)', 'cannot be decoded ...'),
    or None when OpenCV decodes it."""
    if not osp.isfile(path):
        return 'does not exist'
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)'
    if cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED) is None:
        return f'cannot be decoded ({size} bytes: truncated, corrupt or not an image)'
    return None


class DenseFolderDataset(BaseDataset):
    """Base of :class:`SegDataset`, :class:`NormalDataset`, :class:`PointmapDataset`, :class:`AlbedoDataset`,
    :class:`MattingDataset`.

    Subclasses set ``IMG_DIR`` and ``PARTNERS`` = {results key: (folder, extensions, required)}; each data-list
    entry holds ``img_path``, ``sample_name`` and the partner paths under their keys (None for an absent optional
    partner).

    Args:
        data_root (str): the dataset folder.
        data_prefix (dict, optional): override folder names, e.g. ``dict(img='images', seg_map_path='labels')``.
        skip_unreadable (bool): in training, skip (log and count) a sample whose image cannot be read instead of
            stopping. Default True. Test mode always stops with :class:`UnreadableImageError`.
        other ``BaseDataset`` arguments (pipeline, test_mode, indices, max_refetch, ...).
    """
    IMG_DIR = 'rgb'
    PARTNERS: Dict[str, Tuple[str, Sequence[str], bool]] = {}

    def __init__(self, data_root: str = '', data_prefix: Optional[dict] = None, skip_unreadable: bool = True,
                 **kwargs):
        prefix = dict(img=self.IMG_DIR, **{k: v[0] for k, v in self.PARTNERS.items()})
        prefix.update(data_prefix or {})
        self.skip_unreadable = skip_unreadable
        self.skipped_paths: List[str] = []  # per process (each dataloader worker counts its own)
        super().__init__(data_root=data_root, data_prefix=prefix, **kwargs)

    @property
    def num_skipped(self) -> int:
        return len(self.skipped_paths)

    def prepare_data(self, idx) -> Optional[dict]:
        try:
            return super().prepare_data(idx)
        except Exception as e:  # noqa: BLE001  (only an unreadable image is handled; anything else re-raised)
            path = self.get_data_info(idx)['img_path']
            problem = image_problem(path)
            if problem is None:
                raise
            name = type(self).__name__
            if self.test_mode or not self.skip_unreadable:
                raise UnreadableImageError(f'{name}: image {path} {problem} ({type(e).__name__}: {e})') from e
            if path not in self.skipped_paths:
                self.skipped_paths.append(path)
                print_log(f'{name}: skipping unreadable image {path}: it {problem}; {self.num_skipped} skipped so '
                          f'far in this process', logger='current', level=30)
            return None

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
