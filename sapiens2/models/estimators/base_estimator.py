"""Common base of the task models: a Sapiens2 ``backbone`` and a ``decode_head`` (state dict = released layout)."""
from typing import Optional

import torch
from mmengine.model import BaseModel

from sapiens2.registry import MODELS


class BaseEstimator(BaseModel):
    """``backbone`` (featmap output) + ``decode_head``, composed as in mmpose's estimators: :meth:`loss` is the
    head's ``loss(feats, data_samples, train_cfg)``; subclasses implement :meth:`predict` (the head's
    ``predict(feats, data_samples, test_cfg)``, then the mapping back to the image).

    Args:
        backbone (dict): backbone config (``out_type='featmap'``).
        decode_head (dict): head config.
        data_preprocessor (dict, optional): e.g. ``dict(type='ImgDataPreprocessor', mean=..., std=...,
            bgr_to_rgb=True)``.
        train_cfg / test_cfg (dict, optional): task options (e.g. ``flip_test``); a key that is not in the class's
            ``TRAIN_CFG_KEYS`` / ``TEST_CFG_KEYS`` is refused with the closest valid name (``None``: no check).
    """

    TRAIN_CFG_KEYS = ()
    TEST_CFG_KEYS = ()

    def __init__(self, backbone: dict, decode_head: dict, data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        from sapiens2.utils.config_check import check_keys
        for name, given, valid in (('train_cfg', self.train_cfg, self.TRAIN_CFG_KEYS),
                                   ('test_cfg', self.test_cfg, self.TEST_CFG_KEYS)):
            if valid is not None:
                check_keys(f'{type(self).__name__} {name}', given, valid)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Images [B, 3, H, W] -> last backbone featmap [B, C, H/16, W/16]."""
        return self.backbone(inputs)[-1]

    def get_layer_depth(self, param_name: str):
        """Layer id for mmpretrain's ``LearningRateDecayOptimWrapperConstructor``: backbone ids from the backbone,
        every other parameter (the head) takes the last id, i.e. the full lr."""
        if param_name.startswith('backbone.'):
            return self.backbone.get_layer_depth(param_name, prefix='backbone.')
        num_ids = self.backbone.num_layers + 2
        return num_ids - 1, num_ids

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.decode_head(self.extract_feat(inputs))
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """Images [B, 3, H, W] + data samples with targets -> ``{loss_name: loss}`` of ``decode_head.loss``."""
        return self.decode_head.loss(self.extract_feat(inputs), data_samples, train_cfg=self.train_cfg)

    def predict(self, inputs, data_samples):
        raise NotImplementedError(f'{type(self).__name__} must implement predict()')
