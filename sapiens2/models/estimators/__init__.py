from .base_estimator import BaseEstimator
from .dense_estimator import DenseEstimator, PointmapEstimator, SegEstimator
from .matting_estimator import MattingEstimator
from .topdown_pose_estimator import TopdownPoseEstimator

__all__ = ['BaseEstimator', 'DenseEstimator', 'PointmapEstimator', 'SegEstimator', 'TopdownPoseEstimator',
           'MattingEstimator']
