"""Stable person ids across video frames: IoU matching by the Hungarian algorithm with a lost-track timeout.

``IoUTracker.update(boxes)`` assigns each box of a frame the id of the live track it overlaps most (one-to-one,
``scipy.optimize.linear_sum_assignment`` on 1 - IoU, pairs below ``iou_thr`` refused); unmatched boxes start new
tracks (ids 1, 2, ...), and a track unseen for more than ``max_lost`` frames is dropped (its id is never reused).
"""
from typing import Dict, List

import numpy as np
import torch


class IoUTracker:
    """Args: iou_thr: minimum IoU to continue a track; max_lost: frames a track may go unmatched before it ends."""

    def __init__(self, iou_thr: float = 0.3, max_lost: int = 30):
        if not 0 <= iou_thr <= 1:
            raise ValueError(f'IoUTracker: iou_thr must be in [0, 1], got {iou_thr}')
        self.iou_thr, self.max_lost = iou_thr, max_lost
        self.tracks: Dict[int, dict] = {}  # id -> dict(box [4], lost frames)
        self.next_id = 1
        self.ended: List[int] = []  # ids dropped by the last update

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """boxes [N, 4] xyxy of one frame -> track ids [N] int64."""
        from scipy.optimize import linear_sum_assignment
        from torchvision.ops import box_iou
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        ids = np.zeros(len(boxes), np.int64)
        track_ids = list(self.tracks)
        matched = set()
        if track_ids and len(boxes):
            prev = torch.as_tensor(np.stack([self.tracks[t]['box'] for t in track_ids]))
            iou = box_iou(torch.as_tensor(boxes), prev).numpy()  # [N, T]
            rows, cols = linear_sum_assignment(1 - iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_thr:
                    ids[r] = track_ids[c]
                    matched.add(track_ids[c])
        for i in range(len(boxes)):
            if ids[i] == 0:
                ids[i] = self.next_id
                self.next_id += 1
            self.tracks[int(ids[i])] = dict(box=boxes[i].copy(), lost=0)
        self.ended = []
        for t in track_ids:
            if t not in matched:
                self.tracks[t]['lost'] += 1
                if self.tracks[t]['lost'] > self.max_lost:
                    del self.tracks[t]
                    self.ended.append(t)
        return ids
