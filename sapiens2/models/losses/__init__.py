from .cross_entropy_loss import WeightedCrossEntropyLoss
from .dice_loss import DiceLoss
from .keypoint_mse_loss import KeypointMSELoss, KeypointOHKMMSELoss
from .loss_list import build_losses
from .matting_losses import AlphaLoss, CompositionLoss, LaplacianLoss
from .pointmap_losses import (DepthNormalizedL1Loss, IntrinsicsConsistencyLoss, MultiScaleL1Loss,
                              NormalFromPointmapLoss, ShiftInvariantL1Loss, SILogLoss, normals_from_pointmap)
from .regression_losses import (ChromaticityL1Loss, CosineSimilarityLoss, GradientLoss, MeanColorLoss,
                                PixelRegressionLoss, ScaleL1Loss)

__all__ = [
    'WeightedCrossEntropyLoss', 'DiceLoss', 'KeypointMSELoss', 'KeypointOHKMMSELoss', 'build_losses',
    'AlphaLoss', 'CompositionLoss', 'LaplacianLoss',
    'DepthNormalizedL1Loss', 'IntrinsicsConsistencyLoss',
    'MultiScaleL1Loss', 'NormalFromPointmapLoss', 'ShiftInvariantL1Loss', 'SILogLoss', 'normals_from_pointmap',
    'ChromaticityL1Loss', 'CosineSimilarityLoss', 'GradientLoss', 'MeanColorLoss', 'PixelRegressionLoss',
    'ScaleL1Loss'
]
