from .base_estimator import BaseEstimator
from .dense_estimator import DenseEstimator, PointmapEstimator, SegEstimator

__all__ = ['BaseEstimator', 'DenseEstimator', 'PointmapEstimator', 'SegEstimator']
