from .albedo_metric import AlbedoMetric, ssim
from .matting_metric import MattingMetric
from .normal_metric import NormalMetric
from .pointmap_metric import PointmapMetric
from .pose_partition_metric import PosePartitionMetric
from .seg_metric import SegMetric

__all__ = ['AlbedoMetric', 'NormalMetric', 'PointmapMetric', 'PosePartitionMetric', 'SegMetric', 'ssim',
           'MattingMetric']
