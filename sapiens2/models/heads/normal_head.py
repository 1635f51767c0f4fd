"""Surface-normal head (docs/architecture.md §2.3): un-normalised 3-vector per pixel, output layer ``conv_normal``."""
from sapiens2.registry import MODELS
from .dense_regression_head import DenseRegressionHead


@MODELS.register_module()
class NormalHead(DenseRegressionHead):
    """featmap [B, C, h, w] -> normals [B, 3, 16h, 16w] (normalise to unit length downstream)."""
    final_layer_name = 'conv_normal'
    task = 'normal'
