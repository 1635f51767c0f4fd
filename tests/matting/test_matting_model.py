"""The matting model has the released layout: transformers' conversion mapping of ``Sapiens2ForImageMatting`` turns
our decode head into exactly its ``Sapiens2Head`` (names and shapes), and a tiny model loads strictly into
transformers and gives our outputs (sigmoid foreground + alpha)."""
import json
import os.path as osp
import re

import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT

transformers = pytest.importorskip('transformers')
if not hasattr(transformers, 'Sapiens2ForImageMatting'):
    pytest.skip(f'transformers {transformers.__version__} has no Sapiens2ForImageMatting', allow_module_level=True)

SIZES = ('0.4b', '0.8b', '1b', '5b')
TINY = osp.join(REPO_ROOT, 'configs', 'matting', 'sapiens2_tiny_matting_synthetic.py')


def build(cfg, meta=False):
    import sapiens2.models  # noqa: F401
    from sapiens2.registry import MODELS
    init_default_scope('sapiens2')
    cfg.model.backbone.pop('init_cfg', None)
    if meta:
        with torch.device('meta'):
            return MODELS.build(cfg.model)
    return MODELS.build(cfg.model)


def to_transformers_names(state: dict) -> dict:
    """Our decode-head keys renamed by transformers' own conversion mapping of Sapiens2ForImageMatting."""
    from transformers.conversion_mapping import get_checkpoint_conversion_mapping
    renames = [(r.source_patterns[0], r.target_patterns[0])
               for r in get_checkpoint_conversion_mapping('Sapiens2ForImageMatting')]
    out = {}
    for key, value in state.items():
        for src, dst in renames:
            key = re.sub(src, dst, key)
        out[key] = value
    return out


@pytest.mark.parametrize('size', SIZES)
def test_size_config_head_converts_to_transformers_head(size):
    from transformers.models.sapiens2.configuration_sapiens2 import Sapiens2Config
    from transformers.models.sapiens2.modeling_sapiens2 import Sapiens2Head
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'matting', f'sapiens2_{size}_matting.py'))
    model = build(cfg, meta=True)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith('decode_head.')}
    # the released 1B matting head (sapiens/dense/configs/matting/gss_p3m_metasim/...-1024x768.py), 4 outputs
    hf_cfg = Sapiens2Config(hidden_size=cfg.embed_dims, num_labels=4, head_config=dict(
        use_pixel_shuffle=True, upsample_out_channels=[768, 512, 256, 128], upsample_kernel_sizes=[3] * 4,
        conv_out_channels=[64, 32, 16], conv_kernel_sizes=[3, 3, 3]))
    with torch.device('meta'):
        head = Sapiens2Head(hf_cfg)
    theirs = {f'decode_head.{k}': tuple(v.shape) for k, v in head.state_dict().items()}
    assert to_transformers_names(ours) == theirs
    assert model.decode_head.conv_matting.out_channels == 4


def test_tiny_model_loads_into_transformers_and_gives_our_outputs(tmp_path):
    from sapiens2.utils.checkpoint import remap_state_dict, save_safetensors
    from sapiens2.utils.hf_export import _pixel_shuffle_head_config, backbone_hf_config
    cfg = Config.fromfile(TINY)
    cfg.model.backbone.pos_embed_rope_dtype = 'fp32'  # transformers computes RoPE in fp32
    torch.manual_seed(0)
    model = build(cfg).eval()
    hf = backbone_hf_config(model.backbone)
    hf.update(architectures=['Sapiens2ForImageMatting'], num_labels=4,
              head_config=_pixel_shuffle_head_config(model.decode_head, 'decode_head'))
    save_safetensors(remap_state_dict(model.state_dict()), str(tmp_path / 'model.safetensors'),
                     metadata=dict(format='pt'))
    (tmp_path / 'config.json').write_text(json.dumps(hf))
    hf_model, info = transformers.Sapiens2ForImageMatting.from_pretrained(str(tmp_path), output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys'] and not info['mismatched_keys'], info
    x = torch.randn(2, 3, 128, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model(x, mode='tensor')
        out = hf_model.eval()(pixel_values=x)
    assert ours.shape == (2, 4, 128, 96) and 0 <= ours.min() and ours.max() <= 1  # sigmoid outputs
    assert ours[:, :3].std() > 1e-3 and ours[:, 3].std() > 1e-3
    torch.testing.assert_close(ours[:, :3], out.foregrounds, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours[:, 3:], out.alphas, atol=1e-5, rtol=1e-4)


def test_head_refuses_other_output_widths():
    from sapiens2.models.heads import MattingHead
    with pytest.raises(ValueError, match='out_channels must be 4'):
        MattingHead(in_channels=8, upsample_channels=(8, ), conv_out_channels=(8, ), conv_kernel_sizes=(3, ),
                    out_channels=1)
