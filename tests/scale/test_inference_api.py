"""sapiens2.apis batched / chunked inference against a direct forward."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from sapiens2.apis import inference_data, inference_tensor
from sapiens2.models.backbones import Sapiens2

from conftest import TINY_ARCH


class TinyHeatmapModel(BaseModel):
    """Tiny backbone + 1x1 conv to 3 'heatmaps'; predict returns one dict per image."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.7, 116.3, 103.5],
                                                std=[58.4, 57.1, 57.4], bgr_to_rgb=True))
        self.backbone = Sapiens2(arch=TINY_ARCH, img_size=(64, 48), out_type='featmap')
        self.backbone.init_weights()
        self.head = torch.nn.Conv2d(TINY_ARCH['embed_dims'], 3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.backbone(inputs)[-1])
        if mode == 'predict':
            return [dict(heatmaps=o, id=s.id) for o, s in zip(out, data_samples)]
        return out


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return TinyHeatmapModel().eval()


def test_chunked_fp32_equals_one_forward(model):
    x = torch.randn(5, 3, 64, 48)
    with torch.no_grad():
        ref = model(x)
    out = inference_tensor(model, x, batch_size=2, dtype='fp32')  # chunks 2 + 2 + 1
    assert out.shape == (5, 3, 4, 3) and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_bf16_autocast_close_to_fp32_and_keeps_weights(model):
    x = torch.randn(4, 3, 64, 48)
    ref = inference_tensor(model, x, batch_size=4, dtype='fp32')
    out = inference_tensor(model, x, batch_size=3, dtype='bf16')
    assert out.dtype == torch.float32
    assert not torch.equal(out, ref)  # really computed in bf16
    torch.testing.assert_close(out, ref, rtol=0.05, atol=0.05 * ref.abs().max().item())
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_plain_module_and_errors(model):
    backbone = model.backbone
    x = torch.randn(3, 3, 64, 48)
    out = inference_tensor(backbone, x, batch_size=2, dtype='fp32')  # a tuple-returning nn.Module
    with torch.no_grad():
        torch.testing.assert_close(out, backbone(x)[-1])
    with pytest.raises(ValueError, match="'fp16' needs a GPU"):
        inference_tensor(model, x, dtype='fp16')
    with pytest.raises(ValueError, match='dtype must be one of'):
        inference_tensor(model, x, dtype='int8')
    with pytest.raises(ValueError, match=r'\[N, C, H, W\]'):
        inference_tensor(model, x[0])


def test_inference_data_runs_test_step_in_chunks_in_order(model):
    g = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randint(0, 256, (3, 64, 48), generator=g, dtype=torch.uint8),
                 data_samples=BaseDataElement(metainfo=dict(id=i))) for i in range(5)]
    preds = inference_data(model, data, batch_size=2, dtype='fp32')
    assert [p['id'] for p in preds] == list(range(5))
    # reference: the data preprocessor (BGR->RGB, normalise) then a direct forward on all 5 at once
    batch = model.data_preprocessor(dict(inputs=[d['inputs'] for d in data]), False)['inputs']
    with torch.no_grad():
        ref = model(batch)
    torch.testing.assert_close(torch.stack([p['heatmaps'] for p in preds]), ref, rtol=1e-5, atol=1e-5)
