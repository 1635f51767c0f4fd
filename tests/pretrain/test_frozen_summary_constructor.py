"""FrozenSummaryOptimWrapperConstructor: MMEngine's default parameter groups, one log line for the frozen teacher."""
import logging
import uuid

import torch
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from sapiens2.engine import FrozenSummaryOptimWrapperConstructor
from sapiens2.models.pretrain import Sapiens2Pretrainer

from conftest import TINY_ARCH


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_same_groups_one_summary_line():
    model = Sapiens2Pretrainer(
        backbone=dict(type='Sapiens2', arch=TINY_ARCH),
        mae_decoder=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        dino_head=dict(num_prototypes=16, hidden_channels=32, bottleneck_channels=8))
    cfg = dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
    paramwise_cfg = dict(norm_decay_mult=0.0, bias_decay_mult=0.0)
    logger = MMLogger.get_instance(f'frozen_summary_test_{uuid.uuid4().hex}')  # new, hence current
    capture = Capture()
    logger.addHandler(capture)
    ours = FrozenSummaryOptimWrapperConstructor(dict(cfg), dict(paramwise_cfg))(model)
    logger.removeHandler(capture)
    reference = DefaultOptimWrapperConstructor(dict(cfg), dict(paramwise_cfg))(model)

    def groups(wrapper):
        return [(tuple(id(p) for p in g['params']), g['lr'], g['weight_decay'])
                for g in wrapper.optimizer.param_groups]

    assert groups(ours) == groups(reference)
    num_teacher = len(list(model.teacher.parameters()))
    assert num_teacher > 30 and all(not p.requires_grad for p in model.teacher.parameters())
    assert not any('is skipped since' in m for m in capture.messages)
    summary = [m for m in capture.messages if 'frozen (requires_grad=False)' in m]
    assert summary == [f'optimiser: {num_teacher} frozen (requires_grad=False) parameter tensors left out: '
                       f'teacher.* ({num_teacher})']
    assert torch.is_tensor(ours.optimizer.param_groups[0]['params'][0])
