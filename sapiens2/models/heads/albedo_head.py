"""Albedo head (docs/architecture.md §2.3): like the normal head with per-pixel RMSNorm; output layer ``conv_albedo``."""
from sapiens2.registry import MODELS
from ..layers.rms_norm_2d import RMSNorm2d
from .dense_regression_head import DenseRegressionHead


@MODELS.register_module()
class AlbedoHead(DenseRegressionHead):
    """featmap [B, C, h, w] -> albedo [B, 3, 16h, 16w] (RGB in [0, 1] when trained so; no output activation)."""
    final_layer_name = 'conv_albedo'
    task = 'albedo'
    norm_layer = staticmethod(RMSNorm2d)
