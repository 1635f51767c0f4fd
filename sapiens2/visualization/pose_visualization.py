"""Skeleton overlays of top-down pose predictions (OpenCV drawing on BGR images)."""
from typing import Optional, Sequence

import cv2
import numpy as np


def _canvas(img: np.ndarray, keypoints, scores):
    """(a writable copy of ``img``, keypoints [N, K, 2] float32, scores [N, K] float32); wrong shapes raise."""
    keypoints, scores = np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)
    if keypoints.ndim != 3 or scores.shape != keypoints.shape[:2]:
        raise ValueError(f'keypoints must be [N, K, 2] and scores [N, K], got {keypoints.shape} and {scores.shape}')
    return np.ascontiguousarray(img.copy()), keypoints, scores


def _size_step(img: np.ndarray, per: int) -> int:
    """A drawing size that grows with the image: max(H, W) / ``per``, at least 1."""
    return max(1, int(round(max(img.shape[:2]) / per)))


def draw_pose(img: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, skeleton_links: Sequence[Sequence[int]],
              link_colors: Optional[Sequence] = None, keypoint_colors: Optional[Sequence] = None,
              bboxes: Optional[np.ndarray] = None, kpt_thr: float = 0.3, radius: Optional[int] = None,
              thickness: Optional[int] = None) -> np.ndarray:
    """Draw people on a copy of ``img`` (BGR uint8 [H, W, 3]).

    Args:
        keypoints [N, K, 2] (x, y pixels), scores [N, K]: a keypoint / link is drawn when its score(s) > ``kpt_thr``.
        skeleton_links: (i, j) keypoint-id pairs (mmpose metainfo ``skeleton_links``).
        link_colors / keypoint_colors: RGB per link / keypoint (mmpose metainfo ``skeleton_link_colors`` /
            ``keypoint_colors``); default green / red.
        bboxes [N, 4] (x1, y1, x2, y2), optional: drawn in white.
        radius / thickness: default from the image size.
    Returns: the drawn image [H, W, 3] uint8.
    """
    out, keypoints, scores = _canvas(img, keypoints, scores)
    radius = radius or _size_step(out, 250)
    thickness = thickness or _size_step(out, 400)

    def bgr(c, default):
        c = default if c is None else c
        return tuple(int(v) for v in np.asarray(c).reshape(-1)[:3][::-1])

    for n in range(len(keypoints)):
        if bboxes is not None:
            x1, y1, x2, y2 = (int(round(float(v))) for v in np.asarray(bboxes)[n][:4])
            cv2.rectangle(out, (x1, y1), (x2, y2), (255, 255, 255), thickness)
        kp, sc = keypoints[n], scores[n]
        for li, (i, j) in enumerate(skeleton_links):
            if sc[i] > kpt_thr and sc[j] > kpt_thr:
                color = bgr(None if link_colors is None else link_colors[li], (0, 255, 0))
                cv2.line(out, tuple(int(round(v)) for v in kp[i]), tuple(int(round(v)) for v in kp[j]), color,
                         thickness, cv2.LINE_AA)
        for k in np.flatnonzero(sc > kpt_thr):
            color = bgr(None if keypoint_colors is None else keypoint_colors[k], (255, 0, 0))
            cv2.circle(out, tuple(int(round(v)) for v in kp[k]), radius, color, -1, cv2.LINE_AA)
    return out


def person_colour(index: int) -> tuple:
    """A distinct BGR colour per person / track id (golden-ratio hues)."""
    hue = int((index * 0.618033988749895 % 1.0) * 180)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_people(img: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, skeleton_links: Sequence[Sequence[int]],
                kpt_ids: Optional[Sequence[int]] = None, bboxes: Optional[np.ndarray] = None,
                track_ids: Optional[Sequence[int]] = None, kpt_thr: float = 0.3, box_padding: float = 1.25,
                radius: Optional[int] = None, thickness: Optional[int] = None) -> np.ndarray:
    """Readable overlay: each person (or track id) in its own colour, only the keypoints ``kpt_ids`` (e.g. the set the
    model was supervised on) scoring above ``kpt_thr``, links only between two such keypoints, and with ``bboxes``
    only keypoints inside the box enlarged by ``box_padding`` (the crop the model saw), so that limbs do not jump
    between overlapping people.

    Args: keypoints [N, K, 2], scores [N, K], bboxes [N, 4] xyxy, track_ids [N] (label and colour).
    Returns: the drawn copy of ``img`` (BGR uint8).
    """
    out, keypoints, scores = _canvas(img, keypoints, scores)
    radius = radius or max(2, _size_step(out, 200))
    thickness = thickness or _size_step(out, 300)
    shown = np.zeros(keypoints.shape[1], bool)
    shown[np.arange(keypoints.shape[1]) if kpt_ids is None else np.asarray(kpt_ids, np.int64)] = True
    for n in range(len(keypoints)):
        colour = person_colour(int(track_ids[n]) if track_ids is not None else n)
        visible = shown & (scores[n] > kpt_thr) & np.isfinite(keypoints[n]).all(-1)
        if bboxes is not None:
            x1, y1, x2, y2 = (float(v) for v in np.asarray(bboxes)[n][:4])
            cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * box_padding, (y2 - y1) * box_padding
            kx, ky = keypoints[n, :, 0], keypoints[n, :, 1]
            visible &= (np.abs(kx - cx) <= bw / 2) & (np.abs(ky - cy) <= bh / 2)
            cv2.rectangle(out, (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2))), colour, thickness)
            if track_ids is not None:
                cv2.putText(out, f'#{int(track_ids[n])}', (int(round(x1)) + 2, int(round(y1)) + 14),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
        kp = keypoints[n]
        for i, j in skeleton_links:
            if visible[i] and visible[j]:
                cv2.line(out, tuple(int(round(v)) for v in kp[i]), tuple(int(round(v)) for v in kp[j]), colour,
                         thickness, cv2.LINE_AA)
        for k in np.flatnonzero(visible):
            cv2.circle(out, tuple(int(round(v)) for v in kp[k]), radius, colour, -1, cv2.LINE_AA)
            cv2.circle(out, tuple(int(round(v)) for v in kp[k]), radius, (255, 255, 255), 1, cv2.LINE_AA)
    return out
