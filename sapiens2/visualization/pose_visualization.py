"""Skeleton overlays of top-down pose predictions (OpenCV drawing on BGR images)."""
from typing import Optional, Sequence

import cv2
import numpy as np


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
    out = np.ascontiguousarray(img.copy())
    h, w = out.shape[:2]
    radius = radius or max(1, int(round(max(h, w) / 250)))
    thickness = thickness or max(1, int(round(max(h, w) / 400)))
    keypoints, scores = np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)
    if keypoints.ndim != 3 or scores.shape != keypoints.shape[:2]:
        raise ValueError(f'keypoints must be [N, K, 2] and scores [N, K], got {keypoints.shape} and {scores.shape}')

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
