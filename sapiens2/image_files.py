"""The image files the package reads, and the one lister of them (standard library only: the torch-free
onnxruntime tool ``tools/deployment/onnx_infer.py`` imports it too).

Users: the demos (:mod:`sapiens2.utils.media`), the backbone probes (:mod:`sapiens2.apis.feature_analysis`), the
pretraining image folder (:class:`sapiens2.datasets.ImageFolderDataset`), the dense folder datasets and the
onnxruntime tool. Extensions match case-insensitively.
"""
import os
import os.path as osp
from typing import List, Sequence

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def is_image_file(name: str, extensions: Sequence[str] = IMG_EXTENSIONS) -> bool:
    """Whether the file name ends with one of ``extensions`` (any case)."""
    return name.lower().endswith(tuple(e.lower() for e in extensions))


def list_images(path: str, recursive: bool = False, extensions: Sequence[str] = IMG_EXTENSIONS,
                arg: str = '--input') -> List[str]:
    """An image file -> ``[path]``; a folder -> its images sorted by path (``recursive``: also those in sub-folders,
    symbolic links followed).

    Raises ``ValueError`` for a file that is not an image and ``FileNotFoundError`` for a missing path or a folder
    without images; the messages start with ``arg`` (the command-line option or dataset that gave the path).
    """
    if osp.isfile(path):
        if not is_image_file(path, extensions):
            raise ValueError(f'{arg} {path}: not an image ({", ".join(extensions)})')
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{arg} {path} is neither an image nor a folder')
    if recursive:
        files = [osp.join(d, f) for d, _, names in os.walk(path, followlinks=True) for f in names]
    else:
        files = [osp.join(path, f) for f in os.listdir(path) if osp.isfile(osp.join(path, f))]
    files = sorted(f for f in files if is_image_file(f, extensions))
    if not files:
        raise FileNotFoundError(f'{arg} {path}: no images ({", ".join(extensions)}) in this folder'
                                f'{" or its sub-folders" if recursive else ""}')
    return files
