"""tools/convert/to_hf.py against transformers' own Sapiens2 classes (a test-only dependency): the exported folder
loads with no missing / unexpected / mis-shaped key and gives our outputs (RoPE in fp32 on both sides); what
transformers re-saves loads back here strictly."""
import json
import os.path as osp

import pytest
import torch
from hub_helpers import build_random, load_to_hf, model_outputs, tiny_config
from safetensors.torch import load_file

from sapiens2.utils.checkpoint import load_pretrained

transformers = pytest.importorskip('transformers')
if not hasattr(transformers, 'Sapiens2ForPoseEstimation'):
    pytest.skip(f'transformers {transformers.__version__} has no Sapiens2 classes (5.10 and later do)',
                allow_module_level=True)

# task -> (transformers class, output field)
HF_CLASSES = {
    'pose': ('Sapiens2ForPoseEstimation', 'heatmaps'),
    'seg': ('Sapiens2ForSemanticSegmentation', 'logits'),
    'normal': ('Sapiens2ForNormalEstimation', 'normals'),
    'pointmap': ('Sapiens2ForPointmapEstimation', 'pointmaps'),
    'matting': ('Sapiens2ForImageMatting', 'alphas'),
    'backbone': ('Sapiens2Model', 'last_hidden_state'),
}


def export_tiny(task, tmp_path, rope_dtype='fp32'):
    """A tiny 18-block model (grouped-query attention in blocks 8-9) with random weights, saved and exported."""
    cfg = tiny_config(task, gqa=True, rope_dtype=rope_dtype)
    model = build_random(cfg)
    if task == 'backbone':
        model.out_type = 'raw'  # [B, 1 + 8 + h*w, C], transformers' last_hidden_state
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = str(tmp_path / 'hf')
    load_to_hf().export(cfg, ckpt, out)
    return cfg, model, out


def hf_forward(hf_model, task, x):
    with torch.no_grad():
        out = hf_model(pixel_values=x)
    field = HF_CLASSES[task][1]
    if task == 'pointmap':
        return out.pointmaps, out.scales
    if task == 'matting':  # our head's 4 sigmoid channels: pre-multiplied foreground, then alpha
        return torch.cat([out.foregrounds, out.alphas], dim=1)
    return getattr(out, field)


def assert_close(ours, theirs, what):
    if isinstance(ours, tuple):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, f'{what}[{i}]')
        return
    assert ours.shape == theirs.shape, what
    scale = ours.abs().max().item()
    assert scale > 0.1, f'{what}: degenerate outputs'
    err = (ours - theirs).abs().max().item()
    assert err <= 1e-5 * scale, f'{what}: max |ours - transformers| = {err:.3g} (outputs up to {scale:.3g})'


@pytest.mark.parametrize('task', list(HF_CLASSES))
def test_transformers_loads_the_export_and_gives_our_outputs(task, tmp_path):
    cfg, model, out = export_tiny(task, tmp_path)
    cls = getattr(transformers, HF_CLASSES[task][0])
    hf_model, info = cls.from_pretrained(out, output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys'] and not info['mismatched_keys'], info
    hf_model.eval()
    x = torch.randn(2, 3, 128, 96, generator=torch.Generator().manual_seed(1))
    assert_close(model_outputs(model, x), hf_forward(hf_model, task, x), task)

    hf_config = json.load(open(osp.join(out, 'config.json')))
    assert hf_config['num_key_value_heads_per_layer'] == [4] * 8 + [2] * 2 + [4] * 8
    processor = transformers.AutoImageProcessor.from_pretrained(out)
    assert type(processor).__name__ == 'Sapiens2ImageProcessor'
    assert (processor.size['height'], processor.size['width']) == (128, 96)
    assert processor.do_pad == (task in ('normal', 'pointmap', 'matting'))
    mean = cfg.model.data_preprocessor['mean'] if 'model' in cfg else [123.675, 116.28, 103.53]
    assert processor.image_mean == pytest.approx([m / 255 for m in mean])
    if task == 'pose':
        assert hf_model.config.id2label[1] == 'left_eye' and [1, 2] in hf_model.config.flip_pairs
    if task == 'seg':
        assert len(hf_model.config.id2label) == 29
    if task == 'backbone':  # the comparison sees RoPE: another base is far off
        other = cls.from_pretrained(out, rope_theta=1000.0).eval()
        ours, theirs = model_outputs(model, x), hf_forward(other, task, x)
        assert (ours - theirs).abs().max() > 1e-2 * ours.abs().max()


def test_what_transformers_saves_loads_back_strictly(tmp_path):
    """transformers writes the released layout back without rope_embed.periods: it loads strictly here, the
    periods recomputed, and the model is the one exported."""
    cfg, model, out = export_tiny('pose', tmp_path)
    hf_model = transformers.Sapiens2ForPoseEstimation.from_pretrained(out)
    resaved = str(tmp_path / 'resaved')
    hf_model.save_pretrained(resaved)
    state = load_file(osp.join(resaved, 'model.safetensors'))
    assert set(model.state_dict()) - set(state) == {'backbone.rope_embed.periods'}
    fresh = build_random(cfg, seed=7)
    load_pretrained(fresh, resaved)  # strict; the folder resolves to its model.safetensors
    x = torch.randn(1, 3, 128, 96)
    assert torch.equal(model_outputs(fresh, x), model_outputs(model, x))


def test_bf16_rope_export_agrees_to_bf16_rope_precision(tmp_path):
    """The released numerics (bf16 RoPE) differ from transformers' fp32 RoPE by RoPE rounding only."""
    _, model, out = export_tiny('backbone', tmp_path, rope_dtype='bf16')
    hf_model = transformers.Sapiens2Model.from_pretrained(out).eval()
    x = torch.randn(1, 3, 128, 96)
    ours, theirs = model_outputs(model, x), hf_forward(hf_model, 'backbone', x)
    rel = ((ours - theirs).norm() / ours.norm()).item()
    assert 1e-6 < rel < 2e-2, rel


@pytest.mark.parametrize('config,num,first,flip_pair', [
    ('pose/sapiens2_tiny_coco_wholebody133_sample', 133, 'nose', [1, 2]),  # mmpose's COCO-WholeBody metainfo
    ('seg/sapiens2_tiny_lip', 20, 'Background', None),  # LIP's own 20 classes
])
def test_export_labels_come_from_the_configs_dataset(config, num, first, flip_pair, tmp_path):
    """A model fine-tuned on another keypoint set / class list is exported with that set's names (and flip pairs),
    read from the metainfo its config tests with, not the 308 / seg29 files (whose sizes it does not have)."""
    from sapiens2.utils.package_files import get_config
    cfg = get_config(config)
    cfg.model.backbone.pop('init_cfg', None)
    model = build_random(cfg)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    load_to_hf().export(cfg, ckpt, str(tmp_path / 'hf'))
    hf_config = json.load(open(tmp_path / 'hf' / 'config.json'))
    labels = hf_config['id2label']
    assert len(labels) == num and labels['0'] == first and 'num_labels' not in hf_config
    if flip_pair is not None:
        from mmpose.datasets.datasets.utils import parse_pose_metainfo
        meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco_wholebody.py'))
        assert [labels[str(i)] for i in range(num)] == [meta['keypoint_id2name'][i] for i in range(num)]
        assert flip_pair in hf_config['flip_pairs']
        assert len(hf_config['flip_pairs']) == sum(i < j for i, j in enumerate(meta['flip_indices']))
    else:
        assert labels['14'] == 'Left-arm'
