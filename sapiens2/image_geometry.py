"""Image geometry shared by the torch pipeline and the torch-free onnxruntime runner (standard library only):
the letterbox fit of :class:`sapiens2.datasets.transforms.LetterboxResize` and of
:mod:`sapiens2.deployment.onnx_runtime`."""
from typing import Tuple


def letterbox_params(in_hw: Tuple[int, int], out_hw: Tuple[int, int], size_rounding: str = 'round'):
    """-> (resized (h, w), pad_param (top, bottom, left, right)) of an aspect-preserving fit of ``in_hw`` into
    ``out_hw``, centred.

    ``size_rounding``: ``'round'`` rounds the resized size to the nearest integer, ``'floor'`` truncates it like the
    released demos' test resize (``int(w * s)``; e.g. 640×429 -> 768×514, not 515, and one more row of padding).
    """
    h, w = in_hw
    H, W = out_hw
    s = min(H / h, W / w)
    if size_rounding == 'round':
        nh, nw = round(h * s), round(w * s)
    elif size_rounding == 'floor':
        nh, nw = int(h * s), int(w * s)
    else:
        raise ValueError(f"size_rounding must be 'round' or 'floor', got {size_rounding!r}")
    nh, nw = min(H, max(1, nh)), min(W, max(1, nw))
    top, left = (H - nh) // 2, (W - nw) // 2
    return (nh, nw), (top, H - nh - top, left, W - nw - left)
