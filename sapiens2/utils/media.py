"""Inputs and outputs of the demos: an image, a folder of images (or of video frames) or a video in; pictures and an
mp4 (``cv2.VideoWriter``, codec ``mp4v``) out. Frames are BGR uint8 [H, W, 3]."""
import os.path as osp
from typing import Iterator, Optional, Tuple

import cv2
import numpy as np

from sapiens2.image_files import IMG_EXTENSIONS, is_image_file, list_images

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def is_video(path: str) -> bool:
    return osp.isfile(path) and osp.splitext(path)[1].lower() in VIDEO_EXTENSIONS


def read_image(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'cannot read image {path}')
    return img


def video_info(path: str) -> Tuple[float, int]:
    """(fps, frame count as the container reports it; 0 when unknown)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise OSError(f'cannot open video {path}')
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    cap.release()
    return float(fps), max(n, 0)


def iter_video(path: str, start: int = 0, stop: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """(frame index, frame) for frames ``start <= index < stop`` (decoded in order; earlier frames are skipped)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise OSError(f'cannot open video {path}')
    i = 0
    try:
        while stop is None or i < stop:
            if i < start:
                if not cap.grab():
                    break
            else:
                ok, frame = cap.read()
                if not ok:
                    break
                yield i, frame
            i += 1
    finally:
        cap.release()


def count_video_frames(path: str) -> int:
    """Frames that really decode (containers' counts can be off)."""
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


class VideoWriter:
    """mp4 writer that opens on the first frame (its size fixes the video's); frames of another size are resized."""

    def __init__(self, path: str, fps: float = 25.0, fourcc: str = 'mp4v'):
        self.path, self.fps, self.fourcc = path, fps, fourcc
        self.writer = None
        self.size = None
        self.count = 0

    def write(self, frame: np.ndarray):
        if self.writer is None:
            self.size = (frame.shape[1] // 2 * 2, frame.shape[0] // 2 * 2)
            self.writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, self.size)
            if not self.writer.isOpened():
                raise OSError(f'cannot write video {self.path} (codec {self.fourcc})')
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(np.ascontiguousarray(frame))
        self.count += 1

    def close(self):
        if self.writer is not None:
            self.writer.release()
            self.writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FrameSource:
    """A uniform view of ``--input``: ``kind`` 'video' | 'frames' (a folder read as a sequence) | 'images';
    ``names`` one per frame (image stems, or ``<video stem>_<index:06d>``); ``read(i, j)`` yields (index, frame) for
    ``i <= index < j``; ``fps`` of the video (``fps`` argument for frame folders)."""

    def __init__(self, path: str, sequence: bool = False, fps: float = 25.0):
        self.path = path
        if is_video(path):
            self.kind = 'video'
            self.fps, _ = video_info(path)
            n = count_video_frames(path)
            if n == 0:
                raise OSError(f'--input {path}: the video has no decodable frame')
            stem = osp.splitext(osp.basename(path))[0]
            self.stem = stem
            self.names = [f'{stem}_{i:06d}' for i in range(n)]
            self.files = None
        else:
            if not osp.exists(path):
                raise FileNotFoundError(f'--input {path} is neither an image, a video nor a folder')
            if osp.isfile(path) and not is_image_file(path):
                raise ValueError(f'--input {path}: not an image ({", ".join(IMG_EXTENSIONS)}) nor a video '
                                 f'({", ".join(VIDEO_EXTENSIONS)})')
            self.files = list_images(path)
            self.kind = 'frames' if (sequence and osp.isdir(path)) else 'images'
            self.fps = fps
            self.stem = osp.basename(osp.normpath(path)) if osp.isdir(path) else osp.splitext(osp.basename(path))[0]
            self.names = [osp.splitext(osp.basename(f))[0] for f in self.files]

    @property
    def is_sequence(self) -> bool:
        return self.kind in ('video', 'frames')

    def __len__(self):
        return len(self.names)

    def file_name(self, i: int) -> str:
        """What ``--bboxes`` files key on: the image's file name, or ``<stem>_<index>`` for video frames."""
        return osp.basename(self.files[i]) if self.files is not None else self.names[i]

    def read(self, start: int = 0, stop: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
        stop = len(self) if stop is None else min(stop, len(self))
        if self.kind == 'video':
            yield from iter_video(self.path, start, stop)
        else:
            for i in range(start, stop):
                yield i, read_image(self.files[i])
