"""Unlabelled image-folder dataset for self-supervised pretraining; survives corrupt or unreadable files."""
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from sapiens2.image_files import IMG_EXTENSIONS, list_images
from sapiens2.registry import DATASETS


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Every image under ``data_root`` (recursive, sorted) or the paths listed in ``ann_file`` (one per line,
    relative to ``data_root``; blank lines and ``#`` comments ignored). Items are ``dict(img_path=...)``.

    A sample whose pipeline raises or returns None (corrupt, truncated or missing file) is skipped: its path is
    logged once, counted in :attr:`skipped_paths`, and another random sample is returned (MMEngine's refetch).
    Counts are per process (each dataloader worker holds its own copy). For millions of images prefer a list file
    to walking the tree at start-up; the path list is serialised (MMEngine default) so workers share it.
    """

    def __init__(self, data_root: str = '', ann_file: str = '', extensions=IMG_EXTENSIONS, pipeline=(),
                 max_refetch: int = 1000, **kwargs):
        self.extensions = tuple(e.lower() for e in extensions)
        self.skipped_paths: List[str] = []
        super().__init__(data_root=data_root, ann_file=ann_file, pipeline=list(pipeline), max_refetch=max_refetch,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'ImageFolderDataset: list file {self.ann_file} not found')
            with open(self.ann_file) as f:
                rel = [line.strip() for line in f if line.strip() and not line.lstrip().startswith('#')]
            paths = [p if osp.isabs(p) else osp.join(self.data_root, p) for p in rel]
        else:
            if not osp.isdir(self.data_root):
                raise FileNotFoundError(f'ImageFolderDataset: image folder {self.data_root!r} not found')
            try:
                paths = list_images(self.data_root, recursive=True, extensions=self.extensions)
            except FileNotFoundError:  # a folder without images: the ValueError below names the extensions
                paths = []
        if not paths:
            where = self.ann_file or self.data_root
            raise ValueError(f'ImageFolderDataset: no images with extensions {self.extensions} in {where}')
        return [dict(img_path=p) for p in paths]

    @property
    def num_skipped(self) -> int:
        return len(self.skipped_paths)

    def prepare_data(self, idx) -> Optional[dict]:
        path = self.get_data_info(idx)['img_path']
        try:
            results = super().prepare_data(idx)
            reason = 'the pipeline returned None'
        except Exception as e:  # noqa: BLE001  (any decoding error must not stop a week-long run)
            results, reason = None, f'{type(e).__name__}: {e}'
        if results is None and path not in self.skipped_paths:
            self.skipped_paths.append(path)
            print_log(f'ImageFolderDataset: skipping unreadable image {path} ({reason}); '
                      f'{self.num_skipped} skipped so far', logger='current', level=30)
        return results
