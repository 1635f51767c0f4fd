from .base_estimator import BaseEstimator

__all__ = ['BaseEstimator']
