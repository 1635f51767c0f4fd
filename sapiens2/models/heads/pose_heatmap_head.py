"""Top-down pose heatmap head (docs/architecture.md §2.1): deconv stack -> 1×1 conv stack -> ``conv_pose`` heatmaps.

As mmpose's ``HeatmapHead``, the head computes its own losses (:meth:`PoseHeatmapHead.loss`) and its test-time
heatmaps with the flip test (:meth:`PoseHeatmapHead.predict`); decoding to keypoints (the codec) and the mapping to
image pixels stay in ``TopdownPoseEstimator``.
"""
from typing import Optional, Sequence, Tuple, Union

import torch

from sapiens2.registry import MODELS
from ..losses.loss_list import sum_losses
from .deconv_head import DeconvHead


def flip_heatmaps_back(heatmaps: torch.Tensor, flip_indices: Sequence[int]) -> torch.Tensor:
    """Heatmaps predicted on the horizontally flipped crop [B, K, h, w] -> heatmaps of the original crop: mirror
    along width, then channel k takes the map of its swap partner ``flip_indices[k]`` (no shift, docs/data_conventions.md §4)."""
    if len(flip_indices) != heatmaps.shape[1]:
        raise ValueError(f'flip_indices has {len(flip_indices)} entries but the heatmaps have {heatmaps.shape[1]} '
                         'channels')
    return heatmaps.flip(-1)[:, list(flip_indices)]


@MODELS.register_module()
class PoseHeatmapHead(DeconvHead):
    """Released layout: ``deconv_layers.{0,3}``, ``conv_layers.{0,3,6}``, ``conv_pose``.

    Args:
        in_channels (int): backbone channels C.
        out_channels (int): number of keypoints K (308).
        deconv_out_channels / deconv_kernel_sizes: stride-2 deconvs (released two, k=4: 4×, 64×48 -> 256×192).
        conv_out_channels / conv_kernel_sizes: convs after the deconvs (released k=1).
        loss_decode (dict | list[dict], optional): heatmap losses (``KeypointMSELoss`` / ``KeypointOHKMMSELoss``),
            called as ``loss(pred [B, K, h, w], target [B, K, h, w], target_weight [B, K])``.

    forward: featmap [B, C, h, w] -> heatmaps [B, K, h·2^n, w·2^n] (no output activation).
    """

    final_layer_name = 'conv_pose'

    def __init__(self, in_channels: int, out_channels: int = 308,
                 deconv_out_channels: Sequence[int] = (1024, 768), deconv_kernel_sizes: Sequence[int] = (4, 4),
                 conv_out_channels: Sequence[int] = (512, 512, 256), conv_kernel_sizes: Sequence[int] = (1, 1, 1),
                 loss_decode=None, init_cfg=None):
        super().__init__(in_channels, out_channels, deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
                         conv_kernel_sizes, loss_decode=loss_decode, init_cfg=init_cfg)
        self.out_channels = out_channels

    def loss(self, feats: torch.Tensor, data_samples: Sequence, train_cfg: Optional[dict] = None) -> dict:
        """featmap [B, C, h, w] and mmpose ``PoseDataSample`` s with ``gt_fields.heatmaps`` [K, H, W] and
        ``gt_instance_labels.keypoint_weights`` [1, K] -> ``{loss_name: loss}`` of ``loss_decode``."""
        heatmaps = self.forward(feats)
        target = torch.stack([ds.gt_fields.heatmaps for ds in data_samples]).to(heatmaps)
        weights = torch.cat([torch.as_tensor(ds.gt_instance_labels.keypoint_weights) for ds in data_samples])
        weights = weights.to(heatmaps)
        if target.shape != heatmaps.shape:
            raise ValueError(f'target heatmaps {tuple(target.shape)} != predicted {tuple(heatmaps.shape)}: the codec '
                             'heatmap_size must be the input size / 4')
        return sum_losses(((m, (heatmaps, target, weights)) for m in self.loss_decode), type(self).__name__)

    def predict(self, feats: Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]], data_samples: Sequence,
                test_cfg: Optional[dict] = None) -> torch.Tensor:
        """featmap [B, C, h, w] -> heatmaps [B, K, H, W] at the network resolution. With ``test_cfg.flip_test``
        ``feats`` is the pair (featmap, featmap of the horizontally flipped crops), as in mmpose's ``HeatmapHead``,
        and the result is the average with the flipped-back heatmaps; the ``flip_indices`` are those of the data
        samples' metainfo (set by mmpose's pipeline from the dataset metainfo)."""
        if not (test_cfg or {}).get('flip_test', False):
            return self.forward(feats)
        if not (isinstance(feats, (tuple, list)) and len(feats) == 2):
            raise ValueError('PoseHeatmapHead.predict: flip_test needs feats = (featmap, flipped featmap)')
        flip_indices = data_samples[0].metainfo.get('flip_indices') if data_samples else None
        if flip_indices is None:
            raise ValueError('flip_test is on but the data samples carry no metainfo flip_indices (set them in the '
                             'dataset metainfo or turn test_cfg.flip_test off)')
        return 0.5 * (self.forward(feats[0]) + flip_heatmaps_back(self.forward(feats[1]), flip_indices))
