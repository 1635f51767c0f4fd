from .albedo_head import AlbedoHead
from .conv_stacks import build_conv_layers, build_deconv_layers
from .dense_regression_head import DenseRegressionHead
from .matting_head import MattingHead
from .normal_head import NormalHead
from .pointmap_head import PointmapHead
from .pose_heatmap_head import PoseHeatmapHead
from .seg_head import SegHead

__all__ = ['AlbedoHead', 'DenseRegressionHead', 'NormalHead', 'PointmapHead', 'PoseHeatmapHead', 'SegHead',
           'build_conv_layers', 'build_deconv_layers',
           'MattingHead']
