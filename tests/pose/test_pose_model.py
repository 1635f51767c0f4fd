"""Pose head vs the released code (fixture), released state-dict layouts of every size, heatmap losses by hand."""
import json
import os.path as osp

import pytest
import torch
from mmengine import Config
from safetensors import safe_open
from safetensors.torch import load_file

from conftest import FIXTURES, METAINFO, REPO_ROOT

SIZES = ['0.4b', '0.8b', '1b', '5b']


def test_pose_head_matches_released_fixture():
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    path = osp.join(FIXTURES, 'head_pose.safetensors')
    with safe_open(path, 'pt') as f:
        meta = f.metadata()
    data = load_file(path)
    assert meta['type'] == 'PoseHeatmapHead'
    head = MODELS.build(dict(type='PoseHeatmapHead', **json.loads(meta['kwargs']))).eval()
    head.load_state_dict({k[3:]: v for k, v in data.items() if k.startswith('sd.')}, strict=True)
    with torch.no_grad():
        out = head(data['input'])
    ref = data['out.0']
    assert out.shape == ref.shape == (2, 308, 32, 24)
    torch.testing.assert_close(out, ref, atol=2e-3 * max(1.0, ref.abs().max().item()), rtol=0)


@pytest.mark.parametrize('size', SIZES)
def test_pose_config_builds_released_layout(size):
    import sapiens2.models  # noqa: F401
    from mmengine.registry import init_default_scope

    from sapiens2.registry import MODELS
    init_default_scope('sapiens2')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pose', f'sapiens2_{size}_308kpt.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    with open(osp.join(METAINFO, 'released_state_dict_layouts.json')) as f:
        expected = json.load(f)[f'pose/{size}']
    assert sorted(set(got) ^ set(expected)) == []
    assert {k: v for k, v in got.items() if v != expected[k]} == {}
    assert cfg.model.backbone.init_cfg.checkpoint.endswith(f'pretrain/sapiens2_{size}_pretrain.safetensors')


def test_pose_size_recipes():
    recipe = {'0.4b': (5e-4, 0.80, 2.0, 10000), '0.8b': (5e-4, 0.85, 4.0, 10000), '1b': (5e-4, 0.90, 4.0, 20000),
              '5b': (1e-4, 0.94, 4.0, 20000)}
    for size, (lr, decay, clip, iters) in recipe.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pose', f'sapiens2_{size}_308kpt.py'))
        ow = cfg.optim_wrapper
        assert (ow.optimizer.lr, ow.optimizer.weight_decay) == (lr, 0.1), size
        assert (ow.paramwise_cfg.layer_decay_rate, ow.clip_grad.max_norm) == (decay, clip), size
        assert cfg.train_cfg.max_iters == iters and cfg.param_scheduler[-1]['end'] == iters, size
        assert cfg.param_scheduler[0]['start_factor'] == 1e-3 and cfg.param_scheduler[0]['end'] == 500, size
        assert cfg.model.test_cfg.flip_test is True
        assert cfg.model.decode_head.loss_decode.type == 'KeypointOHKMMSELoss'
        assert tuple(cfg.codec['input_size']) == (768, 1024) and tuple(cfg.codec['heatmap_size']) == (192, 256)


def _hand_losses():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 5, 4, 3, generator=g)
    target = torch.rand(2, 5, 4, 3, generator=g)
    weight = torch.tensor([[1., 0., 1., 0.5, 1.], [0., 1., 1., 1., 2.]])
    # per (b, k): mean over pixels of w * (p - t)^2 and of (w p - w t)^2, written out with loops
    plain = torch.zeros(2, 5)
    ohkm = torch.zeros(2, 5)
    for b in range(2):
        for k in range(5):
            d2 = [(float(pred[b, k, y, x]) - float(target[b, k, y, x])) ** 2 for y in range(4) for x in range(3)]
            plain[b, k] = float(weight[b, k]) * sum(d2) / 12
            ohkm[b, k] = float(weight[b, k]) ** 2 * sum(d2) / 12
    return pred, target, weight, plain, ohkm


def test_keypoint_mse_loss_by_hand():
    from sapiens2.models.losses import KeypointMSELoss
    pred, target, weight, plain, _ = _hand_losses()
    loss = KeypointMSELoss(use_target_weight=True, loss_weight=10.0)(pred, target, weight)
    assert loss.item() == pytest.approx(10.0 * plain.sum().item() / (2 * 5), rel=1e-5)
    unweighted = KeypointMSELoss(use_target_weight=False)(pred, target, weight)
    assert unweighted.item() == pytest.approx(((pred - target) ** 2).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match='target_weight'):
        KeypointMSELoss()(pred, target, weight[:, :3])


def test_keypoint_ohkm_loss_by_hand():
    from sapiens2.models.losses import KeypointOHKMMSELoss
    pred, target, weight, _, ohkm = _hand_losses()
    topk = 2
    expected = sum(sum(sorted(ohkm[b].tolist(), reverse=True)[:topk]) / topk for b in range(2)) / 2
    loss = KeypointOHKMMSELoss(use_target_weight=True, topk=topk, loss_weight=3.0)(pred, target, weight)
    assert loss.item() == pytest.approx(3.0 * expected, rel=1e-5)
    # topk = K averages every keypoint: the same as the plain loss on w^2-weighted maps
    full = KeypointOHKMMSELoss(use_target_weight=True, topk=5)(pred, target, weight)
    assert full.item() == pytest.approx(ohkm.mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match='topk'):
        KeypointOHKMMSELoss(topk=6)(pred, target, weight)


def test_pose_head_loss_gathers_targets_and_sums_its_losses_by_name():
    """``PoseHeatmapHead.loss`` (what the estimator's loss is): targets from the samples' ``gt_fields`` /
    ``gt_instance_labels``, one entry per ``loss_name``, each equal to the hand value."""
    import sapiens2.models  # noqa: F401
    from mmengine.structures import InstanceData, PixelData
    from mmpose.structures import PoseDataSample
    from sapiens2.registry import MODELS
    pred, target, weight, plain, ohkm = _hand_losses()
    head = MODELS.build(dict(type='PoseHeatmapHead', in_channels=4, out_channels=5, deconv_out_channels=(4, ),
                             deconv_kernel_sizes=(4, ), conv_out_channels=(4, ), conv_kernel_sizes=(1, ),
                             loss_decode=[dict(type='KeypointMSELoss', loss_weight=10.0),
                                          dict(type='KeypointOHKMMSELoss', topk=2, loss_name='loss_ohkm')]))
    head.forward = lambda feats: pred
    samples = [PoseDataSample(gt_fields=PixelData(heatmaps=target[b]),
                              gt_instance_labels=InstanceData(keypoint_weights=weight[b:b + 1])) for b in range(2)]
    losses = head.loss(torch.zeros(2, 4, 2, 2), samples)
    assert set(losses) == {'loss_kpt', 'loss_ohkm'}
    assert losses['loss_kpt'].item() == pytest.approx(10.0 * plain.sum().item() / (2 * 5), rel=1e-5)
    expected = sum(sum(sorted(ohkm[b].tolist(), reverse=True)[:2]) / 2 for b in range(2)) / 2
    assert losses['loss_ohkm'].item() == pytest.approx(expected, rel=1e-5)
    head.loss_decode = torch.nn.ModuleList()
    with pytest.raises(ValueError, match='PoseHeatmapHead: loss_decode is empty'):
        head.loss(torch.zeros(2, 4, 2, 2), samples)
