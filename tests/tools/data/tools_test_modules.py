"""Test-only tiny task model, synthetic dataset and metric for the tools tests (imported through the tiny config's
``custom_imports``). The target of an image is its first channel average-pooled by 16, so a 1x1 conv head on the
backbone's featmap can learn it."""
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric

from sapiens2.models.estimators.base_estimator import BaseEstimator
from sapiens2.registry import DATASETS, METRICS, MODELS


@MODELS.register_module()
class ToolsTestHead(torch.nn.Module):
    """Featmap [B, C, h, w] -> map [B, 1, h, w] (one 1x1 conv named ``conv_out``)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.conv_out = torch.nn.Conv2d(in_channels, 1, 1)

    def forward(self, x):
        return self.conv_out(x)


@MODELS.register_module()
class ToolsTestEstimator(BaseEstimator):
    """Regresses ``data_samples['target']`` [B, 1, h, w] with an MSE loss."""

    def loss(self, inputs, data_samples):
        pred = self.decode_head(self.extract_feat(inputs))
        return dict(loss_mse=F.mse_loss(pred, data_samples['target'].to(pred)))

    def predict(self, inputs, data_samples):
        pred = self.decode_head(self.extract_feat(inputs))
        return [dict(pred=p.detach().float(), target=t.float()) for p, t in zip(pred, data_samples['target'])]


@DATASETS.register_module()
class ToolsTestDataset(BaseDataset):
    """``num_samples`` random images [3, H, W] (seeded by index) with targets [1, H/16, W/16]."""

    def __init__(self, num_samples: int = 8, img_size=(64, 48), **kwargs):
        self.num_samples, self.img_size = num_samples, tuple(img_size)
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(index=i) for i in range(self.num_samples)]

    def prepare_data(self, idx):
        rng = np.random.default_rng(idx)
        img = torch.from_numpy(rng.standard_normal((3, *self.img_size)).astype(np.float32))
        target = F.avg_pool2d(img[:1], 16)
        return dict(inputs=img, data_samples=dict(target=target))


@METRICS.register_module()
class ToolsTestMetric(BaseMetric):
    """Mean squared error of the predictions (``mse``)."""

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(((sample['pred'] - sample['target']) ** 2).mean().item())

    def compute_metrics(self, results):
        return dict(mse=float(np.mean(results)))
