"""UDP heatmap codec with batched torch decoding (argmax + DARK-UDP refinement) on the heatmaps' device."""
from typing import Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmpose.codecs import UDPHeatmap

from sapiens2.registry import KEYPOINT_CODECS


def gaussian_kernel1d(kernel_size: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """OpenCV's ``getGaussianKernel(k, sigma=0)``: sigma = 0.3 · ((k - 1) / 2 - 1) + 0.8, normalised. -> [k]."""
    sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8
    x = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    k = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return (k / k.sum()).to(dtype=dtype, device=device)


def gaussian_blur_keep_max(heatmaps: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """mmpose ``gaussian_blur`` in torch: zero-padded separable Gaussian blur of every map, rescaled so that each
    map keeps its original maximum. [N, H, W] -> [N, H, W]. (Shifted multiply-adds: several times faster on CPU
    than a one-channel ``conv2d``.)"""
    if kernel_size % 2 != 1:
        raise ValueError(f'blur kernel size must be odd, got {kernel_size}')
    pad = (kernel_size - 1) // 2
    weights = gaussian_kernel1d(kernel_size, torch.float64).tolist()
    N, H, W = heatmaps.shape
    padded = F.pad(heatmaps, (pad, pad, pad, pad))
    rows = heatmaps.new_zeros(N, H + 2 * pad, W)
    for i, w in enumerate(weights):
        rows.add_(padded[:, :, i:i + W], alpha=w)
    out = heatmaps.new_zeros(N, H, W)
    for i, w in enumerate(weights):
        out.add_(rows[:, i:i + H], alpha=w)
    origin_max = heatmaps.flatten(1).amax(1)
    return out * (origin_max / out.flatten(1).amax(1)).view(-1, 1, 1)


def heatmap_argmax(heatmaps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """mmpose ``get_heatmap_maximum`` in torch. [B, K, H, W] -> (locs [B, K, 2] (x, y) float, -1 where the
    maximum is <= 0; vals [B, K]). The first maximum in row-major order wins, as with ``np.argmax``.

    Two cheap passes instead of a flat argmax (which is several times slower than a max reduction on CPU): the max
    of every row, then the argmax inside the first row that holds the map's maximum."""
    B, K, H, W = heatmaps.shape
    rows = heatmaps.reshape(B * K, H, W)
    row_max = rows.amax(dim=2)  # [N, H]
    vals, y = row_max.max(dim=1)  # first row holding the maximum
    row = rows[torch.arange(B * K, device=rows.device), y]  # [N, W]
    x = row.argmax(dim=1)
    locs = torch.stack((x, y), dim=-1).to(torch.float32).reshape(B, K, 2)
    vals = vals.reshape(B, K)
    locs[vals <= 0] = -1
    return locs, vals


NEIGHBOURS = ((0, 0), (1, 0), (0, 1), (1, 1), (-1, -1), (-1, 0), (0, -1))  # (dx, dy) used by the DARK step


def dark_udp_step(logs) -> Tuple[torch.Tensor, torch.Tensor]:
    """Newton step of mmpose's ``refine_keypoints_dark_udp`` from the log-heatmap at the 7 :data:`NEIGHBOURS`
    (each [...]) -> (step_x, step_y) [...]; the Hessian gets + float32 eps · I as in mmpose."""
    i_, ix1, iy1, ix1y1, ix1_y1_, ix1_, iy1_ = logs
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    dxx = ix1 - 2 * i_ + ix1_
    dyy = iy1 - 2 * i_ + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
    eps = float(np.finfo(np.float32).eps)
    a, b, d = dxx + eps, dxy, dyy + eps  # symmetric Hessian [[a, b], [b, d]]
    det = a * d - b * b
    return (d * dx - b * dy) / det, (a * dy - b * dx) / det


def refine_dark_udp_full(locs: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int,
                         select: torch.Tensor) -> torch.Tensor:
    """mmpose ``refine_keypoints_dark_udp`` literally, for the maps ``select`` [B, K] (bool) only: blur the whole
    map, clip to [1e-3, 50], log, edge-pad, read the neighbours with mmpose's per-instance flat indexing. A keypoint
    at -1 (no positive response) reads backwards into the previous map of its instance (map K-1 for map 0), as the
    flat index of mmpose wraps, so that map is processed too. locs [B, K, 2] -> refined locs of the selected
    maps [M, 2]."""
    B, K, H, W = heatmaps.shape
    b, k = select.nonzero(as_tuple=True)
    prev = (k - 1) % K
    maps = torch.cat((heatmaps[b, prev], heatmaps[b, k])).float()  # [2M, H, W]
    hm = gaussian_blur_keep_max(maps, blur_kernel_size).clamp_(1e-3, 50.).log_()
    hm = F.pad(hm.unsqueeze(1), (1, 1, 1, 1), mode='replicate').squeeze(1)  # [2M, H + 2, W + 2]
    M, Wp, n = len(b), W + 2, (H + 2) * (W + 2)
    pairs = torch.cat((hm[:M].reshape(M, n), hm[M:].reshape(M, n)), dim=1)  # [M, 2n]: previous map, own map
    loc = locs[b, k]  # [M, 2]
    index = n + loc[:, 0].long() + 1 + (loc[:, 1].long() + 1) * Wp  # [M]
    logs = [pairs.gather(1, (index + dx + dy * Wp)[:, None])[:, 0] for dx, dy in NEIGHBOURS]
    step_x, step_y = dark_udp_step(logs)
    return loc - torch.stack((step_x, step_y), dim=-1)


def blur_around(heatmaps: torch.Tensor, x: torch.Tensor, y: torch.Tensor, blur_kernel_size: int) -> torch.Tensor:
    """Zero-padded Gaussian blur of maps [N, H, W] on the 3x3 pixels around (x, y) [N] (long, inside the map)
    -> [N, 3, 3] (rows y-1..y+1, columns x-1..x+1): reads one (k+2)x(k+2) window per map."""
    N, H, W = heatmaps.shape
    r = (blur_kernel_size - 1) // 2 + 1
    g = gaussian_kernel1d(blur_kernel_size, heatmaps.dtype, heatmaps.device)
    off = torch.arange(-r, r + 1, device=heatmaps.device)
    xs, ys = x[:, None] + off, y[:, None] + off  # [N, k + 2]
    inside = ((ys >= 0) & (ys < H))[:, :, None] & ((xs >= 0) & (xs < W))[:, None, :]
    flat = (ys.clamp(0, H - 1) * W)[:, :, None] + xs.clamp(0, W - 1)[:, None, :] + \
        (torch.arange(N, device=heatmaps.device) * (H * W))[:, None, None]
    win = heatmaps.take(flat) * inside  # [N, k + 2, k + 2], zero outside the map
    win = win.unfold(2, blur_kernel_size, 1) @ g  # [N, k + 2, 3] horizontal pass
    return (win.transpose(1, 2).unfold(2, blur_kernel_size, 1) @ g).transpose(1, 2)  # [N, 3, 3]


def refine_dark_udp(locs: torch.Tensor, heatmaps: torch.Tensor, blur_kernel_size: int,
                    peaks: torch.Tensor = None) -> torch.Tensor:
    """Batched DARK-UDP refinement equal to mmpose's ``refine_keypoints_dark_udp`` (locs [B, K, 2] integer-valued,
    heatmaps [B, K, H, W], optional ``peaks`` [B, K] = the maps' maxima from :func:`heatmap_argmax` -> refined locs
    [B, K, 2]) without blurring whole maps when it is not needed.

    mmpose blurs each map, rescales it by s = max(map) / max(blurred) >= 1, clips to [1e-3, 50] and takes the log.
    The Newton step only uses differences of logs at the 3x3 neighbours, in which log(s) cancels whenever no
    neighbour is clipped: true when 0 < max(map) <= 50 and every blurred neighbour is >= 1e-3. Those maps are
    decoded from the blur at 7 points; the other maps (and keypoints at -1) go through :func:`refine_dark_udp_full`."""
    B, K, H, W = heatmaps.shape
    maps = heatmaps.reshape(B * K, H, W)
    lx, ly = locs[..., 0].reshape(-1).long(), locs[..., 1].reshape(-1).long()
    x0, y0 = lx.clamp(0, W - 1), ly.clamp(0, H - 1)
    grid = blur_around(maps, x0, y0, blur_kernel_size).flatten(1)  # [N, 9]
    # mmpose edge-pads the log-map: a neighbour outside the map reads the border pixel (a clamped offset)
    blurred = torch.stack([grid.gather(1, (((y0 + dy).clamp(0, H - 1) - y0 + 1) * 3 +
                                          ((x0 + dx).clamp(0, W - 1) - x0 + 1))[:, None])[:, 0]
                           for dx, dy in NEIGHBOURS], dim=1)  # [N, 7]
    peak = maps.flatten(1).amax(1) if peaks is None else peaks.reshape(-1)
    safe = (lx >= 0) & (peak > 0) & (peak <= 50.) & (blurred.amin(1) >= 1e-3 * (1 + 1e-4))
    step_x, step_y = dark_udp_step(blurred.clamp_min(1e-3).log().unbind(1))
    refined = (locs.reshape(-1, 2) - torch.stack((step_x, step_y), dim=-1)).reshape(B, K, 2)
    if not bool(safe.all()):
        unsafe = ~safe.reshape(B, K)
        refined[unsafe] = refine_dark_udp_full(locs, heatmaps, blur_kernel_size, unsafe)
    return refined


@KEYPOINT_CODECS.register_module()
class BatchedUDPHeatmap(UDPHeatmap):
    """mmpose's :class:`UDPHeatmap` (same encoding and per-instance ``decode``) with a batched torch
    :meth:`batch_decode` (Gaussian heatmaps only): argmax + DARK-UDP refinement on the heatmaps' device, the same
    keypoints as ``decode`` within float32 rounding.

    Encoded (``encode(keypoints [1, K, 2], keypoints_visible [1, K])``, mmpose's, unchanged; one instance):

        - heatmaps: float32 [K, H, W] Gaussian heatmaps, (W, H) = ``heatmap_size``
        - keypoint_weights: float32 [1, K]

    Decoded:

        - ``decode(heatmaps [K, H, W])`` (mmpose's): keypoints [1, K, 2] in input-image pixels, scores [1, K]
        - :meth:`batch_decode` (``heatmaps [B, K, H, W]``, numpy or tensor): keypoints [B, 1, K, 2], scores [B, 1, K]
        - :meth:`decode_tensor` (``heatmaps [B, K, H, W]`` tensor): keypoints [B, K, 2], scores [B, K] (tensors on
          the heatmaps' device)

    Args: as :class:`mmpose.codecs.UDPHeatmap` (``heatmap_type='gaussian'`` only); ``decode_chunk_size`` bounds the
    instances decoded at once (memory: about 3 × chunk × K × H × W floats).
    """

    def __init__(self, *args, decode_chunk_size: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        if self.heatmap_type != 'gaussian':
            raise ValueError(f"BatchedUDPHeatmap decodes heatmap_type='gaussian' only, got {self.heatmap_type!r}")
        self.decode_chunk_size = decode_chunk_size

    @torch.no_grad()
    def decode_tensor(self, heatmaps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Heatmaps [B, K, H, W] (any float dtype, any device) -> (keypoints [B, K, 2] in input-image pixels,
        scores [B, K]) as float32 tensors on the same device."""
        if heatmaps.dim() != 4:
            raise ValueError(f'batch_decode expects heatmaps [B, K, H, W], got shape {list(heatmaps.shape)}')
        W, H = self.heatmap_size
        if tuple(heatmaps.shape[-2:]) != (H, W):
            raise ValueError(f'heatmaps are {tuple(heatmaps.shape[-2:])} (H, W) but the codec expects '
                             f'heatmap_size (W, H) = {tuple(self.heatmap_size)}')
        keypoints, scores = [], []
        for chunk in heatmaps.split(self.decode_chunk_size):
            chunk = chunk.float()
            locs, vals = heatmap_argmax(chunk)
            keypoints.append(refine_dark_udp(locs, chunk, self.blur_kernel_size, peaks=vals))
            scores.append(vals)
        keypoints = torch.cat(keypoints)
        scale = torch.tensor(self.input_size, dtype=torch.float32, device=keypoints.device) / \
            torch.tensor([W - 1, H - 1], dtype=torch.float32, device=keypoints.device)
        return keypoints * scale, torch.cat(scores)

    def batch_decode(self, batch_heatmaps: Union[torch.Tensor, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """Heatmaps [B, K, H, W] -> (keypoints [B, 1, K, 2], scores [B, 1, K]) as numpy; element b has the shapes
        of ``decode(heatmaps[b])`` (mmpose's batch-decoding contract)."""
        if isinstance(batch_heatmaps, np.ndarray):
            batch_heatmaps = torch.from_numpy(batch_heatmaps)
        keypoints, scores = self.decode_tensor(batch_heatmaps)
        return keypoints[:, None].cpu().numpy(), scores[:, None].cpu().numpy()
