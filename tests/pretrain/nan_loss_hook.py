"""Test helper, imported by a config through ``custom_imports``: rank 0's pretraining loss is NaN at one iteration
(the MAE weight is set to NaN for that iteration only)."""
import os

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sapiens2.registry import HOOKS


@HOOKS.register_module()
class NaNLossOnRank0(Hook):

    def __init__(self, iteration: int):
        self.iteration = iteration  # 1-based, as logged

    def _set(self, runner, value):
        if os.environ.get('RANK', '0') == '0' and runner.iter + 1 == self.iteration:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            model.loss_weights['mae'] = value

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._set(runner, float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._set(runner, 1.0)
