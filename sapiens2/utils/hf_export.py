"""Export a model to the layout of the Hugging Face Hub repos, loadable by transformers' ``Sapiens2*`` classes
(:func:`export`; command line: ``python tools/convert/to_hf.py CONFIG CKPT OUT_DIR [--dtype ...] [--src-prefix P]``).

CONFIG is a task config (pose, seg, normal, pointmap) or a backbone config
(``configs/_base_/models/sapiens2_<size>.py``, exported as ``Sapiens2Model``); CKPT any checkpoint the project reads
(``.pth``, ``.safetensors``, a Hub id). OUT_DIR gets what the official repos hold:

* ``model.safetensors``: the released layout (``backbone.*`` + ``decode_head.*``, or the bare backbone), which
  transformers converts on load (its ``conversion_mapping``);
* ``config.json``: the transformers ``Sapiens2Config`` of the model (sizes, grouped-query heads per layer, RoPE base,
  register tokens, ``head_config``, labels / keypoint names and flip pairs);
* ``preprocessor_config.json``: ``Sapiens2ImageProcessor`` settings (input size, mean / std, letterbox for
  normal / pointmap);
* ``sapiens2_config.json``: this project's config as data, so ``init_pose_model(None, 'hf://owner/name')`` and
  ``init_dense_model(None, ...)`` rebuild exactly this model.

Upload the folder with ``hf upload owner/name OUT_DIR``. transformers computes RoPE in fp32; the released models
compute it in bf16 (``pos_embed_rope_dtype``), so outputs agree to bf16 RoPE precision, and exactly up to float
rounding for models with ``pos_embed_rope_dtype='fp32'``. transformers has no albedo model and no 4K tokenizer:
those are refused, as is any setting its classes cannot express (RoPE period range, other coordinate
normalisation, deconvolution kernels other than 4, ...).
"""
import json
import os
import os.path as osp
from typing import Optional

import torch
from torch import nn

from sapiens2.utils.checkpoint import load_pretrained, remap_state_dict, save_safetensors
from sapiens2.utils.hub import (HF_CONFIG_FILE, PREPROCESSOR_CONFIG_FILE, SAPIENS2_CONFIG_FILE, WEIGHTS_FILE)
from sapiens2.utils.package_files import load_config, metainfo_file

HEAD_ARCHITECTURES = {  # our decode head -> transformers class
    'PoseHeatmapHead': 'Sapiens2ForPoseEstimation',
    'SegHead': 'Sapiens2ForSemanticSegmentation',
    'NormalHead': 'Sapiens2ForNormalEstimation',
    'PointmapHead': 'Sapiens2ForPointmapEstimation',
    'MattingHead': 'Sapiens2ForImageMatting',
}
TORCH_DTYPE_NAMES = {torch.float32: 'float32', torch.bfloat16: 'bfloat16', torch.float16: 'float16'}


class NotExportable(ValueError):
    """The model has a part transformers' Sapiens2 classes cannot express."""


def _require(ok: bool, what: str):
    if not ok:
        raise NotExportable(f'not exportable to transformers: {what}')


# ----------------------------------------------------------------------------------------------------- backbone
def backbone_hf_config(backbone) -> dict:
    """The ``Sapiens2Config`` fields of a :class:`Sapiens2` backbone."""
    rope = backbone.rope_embed
    _require(not backbone.use_tokenizer, 'the 4K windowed tokenizer (use_tokenizer=True)')
    _require(backbone.with_cls_token, 'a backbone without [CLS] token')
    _require(backbone.final_norm, 'a backbone without final norm (final_norm=False)')
    _require(rope.base is not None, 'RoPE with min_period / max_period (transformers takes rope_theta only)')
    _require(rope.normalize_coords == 'separate', f"RoPE normalize_coords={rope.normalize_coords!r} (only 'separate')")
    proj = backbone.patch_embed.projection
    _require(tuple(proj.kernel_size) == tuple(proj.stride) == (backbone.patch_size, ) * 2 and
             proj.padding in (0, (0, 0)),
             'a patch embedding that is not a kernel = stride = patch_size convolution')
    block = backbone.blocks[0]
    sd = block.state_dict()
    for i, blk in enumerate(backbone.blocks):
        _require(blk.state_dict().keys() == sd.keys(), f'block {i} has other parameters than block 0')
    _require('attn.gamma.weight' in sd, 'blocks without layer scale (layer_scale_init_value=0)')
    qkv_bias = 'attn.wq.bias' in sd
    _require(qkv_bias == ('attn.wk.bias' in sd) == ('attn.wv.bias' in sd), 'q / k / v projections with mixed biases')
    eps = backbone.ln1.eps if backbone.ln1.eps is not None else torch.finfo(torch.float32).eps
    img_h, img_w = backbone.img_size
    return dict(
        model_type='sapiens2',
        hidden_size=backbone.embed_dims,
        intermediate_size=backbone.arch_settings['feedforward_channels'],
        num_hidden_layers=backbone.num_layers,
        num_attention_heads=backbone.num_heads,
        num_key_value_heads_per_layer=[blk.attn.num_kv_heads for blk in backbone.blocks],
        hidden_act='silu',
        use_gated_mlp=True,
        patch_size=backbone.patch_size,
        image_size=[img_h, img_w],
        num_channels=proj.in_channels,
        num_register_tokens=backbone.n_storage_tokens,
        rope_theta=float(rope.base),
        pos_embed_shift=rope.shift_coords,
        pos_embed_jitter=rope.jitter_coords,
        pos_embed_rescale=rope.rescale_coords,
        query_bias=qkv_bias, key_bias=qkv_bias, value_bias=qkv_bias,
        proj_bias='attn.proj.bias' in sd,
        mlp_bias='ffn.w12.bias' in sd,
        use_qk_norm='attn.q_norm.weight' in sd,
        rms_norm_eps=float(eps),
        layerscale_value=1.0,  # initialisation only
    )


# ----------------------------------------------------------------------------------------------------- heads
def _stack_layers(stack: nn.Module, name: str):
    """(conv, norm, activation) triples of one of our conv stacks, checked against transformers' Sapiens2ConvLayer
    (conv -> [pixel shuffle] -> InstanceNorm2d without affine -> SiLU)."""
    layers = list(stack)
    out = []
    i = 0
    while i < len(layers):
        conv = layers[i]
        shuffle = isinstance(layers[i + 1], nn.PixelShuffle)
        norm, act = layers[i + 1 + shuffle], layers[i + 2 + shuffle]
        _require(isinstance(norm, nn.InstanceNorm2d) and not norm.affine and not norm.track_running_stats,
                 f'{name}: {type(norm).__name__} (transformers uses InstanceNorm2d without affine parameters)')
        _require(isinstance(act, nn.SiLU), f'{name}: {type(act).__name__} activation (transformers uses SiLU)')
        out.append((conv, layers[i + 1] if shuffle else None))
        i += 3 + shuffle
    return out


def _deconv_head_config(head, name: str) -> dict:
    """Pose / seg: stride-2 transposed convs (kernel 4, padding 1, no bias) then 1x1 convs."""
    upsample, kernels = [], []
    for conv, _ in _stack_layers(head.deconv_layers, f'{name}.deconv_layers'):
        _require(isinstance(conv, nn.ConvTranspose2d) and conv.kernel_size == (4, 4) and conv.stride == (2, 2) and
                 conv.padding == (1, 1) and conv.output_padding == (0, 0) and conv.bias is None,
                 f'{name}.deconv_layers: transformers builds ConvTranspose2d(kernel 4, stride 2, padding 1, no bias)')
        upsample.append(conv.out_channels)
        kernels.append(4)
    convs = []
    for conv, _ in _stack_layers(head.conv_layers, f'{name}.conv_layers'):
        _require(conv.kernel_size == (1, 1) and conv.stride == (1, 1),
                 f'{name}.conv_layers: kernel {conv.kernel_size} (transformers pads these with 0: only 1x1 match)')
        convs.append(conv.out_channels)
    _require(len(upsample) > 0, f'{name}: no deconvolution layer')
    return dict(upsample_out_channels=upsample, upsample_kernel_sizes=kernels, conv_out_channels=convs,
                conv_kernel_sizes=[1] * len(convs))


def _pixel_shuffle_head_config(head, name: str) -> dict:
    """Normal / pointmap: 3x3 input conv, conv + pixel-shuffle upsampling blocks, then same-padding convs."""
    (conv, _), = _stack_layers(head.input_conv, f'{name}.input_conv')
    _require(conv.kernel_size == (3, 3) and conv.padding == (1, 1), f'{name}.input_conv: not a 3x3 conv')
    upsample, kernels = [], []
    for i, block in enumerate(head.upsample_blocks):
        (conv, shuffle), = _stack_layers(block, f'{name}.upsample_blocks.{i}')
        _require(shuffle is not None and shuffle.upscale_factor == 2 and conv.stride == (1, 1) and
                 conv.padding == ((conv.kernel_size[0] - 1) // 2, ) * 2,
                 f'{name}.upsample_blocks.{i}: transformers builds conv (same padding) + PixelShuffle(2)')
        upsample.append(conv.out_channels // 4)
        kernels.append(conv.kernel_size[0])
    convs, conv_kernels = [], []
    for conv, _ in _stack_layers(head.conv_layers, f'{name}.conv_layers'):
        _require(conv.stride == (1, 1), f'{name}.conv_layers: stride {conv.stride}')
        convs.append(conv.out_channels)
        conv_kernels.append(conv.kernel_size[0])
    return dict(use_pixel_shuffle=True, upsample_out_channels=upsample, upsample_kernel_sizes=kernels,
                conv_out_channels=convs, conv_kernel_sizes=conv_kernels)


def _scale_head_config(head, name: str) -> dict:
    channels, kernels = [], []
    for conv, _ in _stack_layers(head.scale_conv_layers, f'{name}.scale_conv_layers'):
        channels.append(conv.out_channels)
        kernels.append(conv.kernel_size[0])
    linears = [m for m in head.scale_final_layer if isinstance(m, nn.Linear)]
    _require(len(linears) == 3 and linears[-1].out_features == 1,
             f'{name}.scale_final_layer: transformers has exactly two hidden layers and one output')
    return dict(scale_conv_out_channels=channels, scale_conv_kernel_sizes=kernels,
                scale_final_input_size=linears[0].in_features,
                scale_final_hidden_sizes=[linears[0].out_features, linears[1].out_features])


def _metainfo(name: str) -> dict:
    with open(metainfo_file(name)) as f:
        return json.load(f)


def head_hf_config(head, dataset_meta: Optional[dict] = None) -> dict:
    """``architectures``, labels and ``head_config`` of a decode head. The labels (pose: keypoint names and flip
    pairs; seg: class names) come from ``dataset_meta`` (the metainfo the config tests with, e.g. COCO-17 or LIP)
    when it matches the head's channels, else from the bundled 308-keypoint / seg29 files when those match; with
    neither, only ``num_labels`` is written."""
    kind = type(head).__name__
    if kind not in HEAD_ARCHITECTURES:
        raise NotExportable(f'not exportable to transformers: decode head {kind} (transformers has '
                            f'{", ".join(HEAD_ARCHITECTURES.values())}: heads {", ".join(HEAD_ARCHITECTURES)})')
    cfg = dict(architectures=[HEAD_ARCHITECTURES[kind]])
    meta = dataset_meta or {}
    if kind == 'PoseHeatmapHead':
        cfg['head_config'] = _deconv_head_config(head, 'decode_head')
        num = head.conv_pose.out_channels
        if meta.get('num_keypoints') == num and meta.get('keypoint_id2name') and meta.get('flip_indices'):
            names, flip_indices = [meta['keypoint_id2name'][i] for i in range(num)], meta['flip_indices']
        else:
            bundled = _metainfo('keypoints308')
            names = [k['name'] for k in bundled['keypoints']] if num == bundled['num_keypoints'] else None
            flip_indices = bundled['flip_indices']
        if names:
            cfg['id2label'] = {str(i): n for i, n in enumerate(names)}
            cfg['flip_pairs'] = [[i, j] for i, j in enumerate(flip_indices) if i < j]
        else:
            cfg['num_labels'] = num
    elif kind == 'SegHead':
        cfg['head_config'] = _deconv_head_config(head, 'decode_head')
        num = head.conv_seg.out_channels
        bundled = _metainfo('seg29')
        classes = list(meta.get('classes') or ())
        if len(classes) != num:
            classes = bundled['classes'] if num == bundled['num_classes'] else []
        if classes:
            cfg['id2label'] = {str(i): c for i, c in enumerate(classes)}
            cfg['semantic_loss_ignore_index'] = bundled['ignore_index']  # 255 in every seg config here
        else:
            cfg['num_labels'] = num
    else:
        cfg['head_config'] = _pixel_shuffle_head_config(head, 'decode_head')
        cfg['num_labels'] = getattr(head, head.final_layer_name).out_channels
        if kind == 'PointmapHead':
            cfg['head_config'].update(_scale_head_config(head, 'decode_head'))
    if 'id2label' in cfg:
        cfg['label2id'] = {v: int(k) for k, v in cfg['id2label'].items()}
    return cfg


def preprocessor_config(cfg, backbone, task: str) -> dict:
    """``Sapiens2ImageProcessor`` settings: resize to the model's input size (letterbox for normal / pointmap),
    rescale to [0, 1] and normalise with the config's mean / std (in the 0-255 scale there)."""
    pre = (cfg.get('model') or {}).get('data_preprocessor') or {}
    mean = [float(m) / 255 for m in pre.get('mean', [123.675, 116.28, 103.53])]
    std = [float(s) / 255 for s in pre.get('std', [58.395, 57.12, 57.375])]
    img_h, img_w = backbone.img_size
    out = dict(image_processor_type='Sapiens2ImageProcessor', do_convert_rgb=True, do_resize=True,
               size=dict(height=img_h, width=img_w), resample=2, do_rescale=True, rescale_factor=1 / 255,
               do_normalize=True, image_mean=mean, image_std=std, do_pad=task in ('normal', 'pointmap', 'matting'),
               do_center_crop=False, do_reduce_labels=False)
    codec = (cfg.get('model') or {}).get('codec') or cfg.get('codec')
    if task == 'pose' and codec:  # heatmap targets of the processor (training): the codec's stride and sigma
        out['keypoint_heatmap_downscale_factor'] = int(codec['input_size'][0] // codec['heatmap_size'][0])
        out['keypoint_heatmap_sigma'] = float(codec['sigma'])
    return out


# ----------------------------------------------------------------------------------------------------- model
def build_model(cfg, checkpoint: str, src_prefix: str = ''):
    """(model, backbone, task) of a task config (the checkpoint loaded strictly) or of a backbone config."""
    import sapiens2.models  # noqa: F401
    from mmengine.registry import init_default_scope
    from sapiens2.models.builder import build_without_weights
    from sapiens2.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'sapiens2'))
    if 'model' in cfg:
        if 'decode_head' not in cfg.model:
            raise NotExportable(f'not exportable to transformers: model type {cfg.model.get("type")} (a pretraining '
                                f'model? export its backbone with tools/convert/pretrain_to_backbone.py, then this '
                                f'tool with configs/_base_/models/sapiens2_<size>.py)')
        model = build_without_weights(cfg.model, registry=MODELS)
        load_pretrained(model, checkpoint, prefix=src_prefix)
        return model, model.backbone, type(model.decode_head).__name__
    if 'backbone' not in cfg:
        raise ValueError('the config has neither `model` nor `backbone`')
    model = build_without_weights(cfg.backbone, registry=MODELS)
    load_pretrained(model, checkpoint, prefix=src_prefix)
    return model, model, 'backbone'


TASKS = {'PoseHeatmapHead': 'pose', 'SegHead': 'seg', 'NormalHead': 'normal', 'PointmapHead': 'pointmap',
         'MattingHead': 'matting', 'backbone': 'pretrain'}


def export(config, checkpoint: str, out_dir: str, dtype: str = None, src_prefix: str = '') -> dict:
    """Write ``model.safetensors``, ``config.json``, ``preprocessor_config.json`` and ``sapiens2_config.json`` of
    ``config`` + ``checkpoint`` to ``out_dir``; returns the transformers config written."""
    cfg = load_config(config)
    model, backbone, head_kind = build_model(cfg, checkpoint, src_prefix)
    hf = backbone_hf_config(backbone)
    if head_kind == 'backbone':
        hf['architectures'] = ['Sapiens2Model']
    else:
        from sapiens2.datasets.metainfo_from_config import dataset_meta_from_config
        hf.update(head_hf_config(model.decode_head, dataset_meta_from_config(cfg)))
    state_dict = remap_state_dict(model.state_dict(), dtype=dtype)
    float_dtypes = {v.dtype for k, v in state_dict.items() if v.is_floating_point() and not k.endswith('.periods')}
    hf['dtype'] = TORCH_DTYPE_NAMES.get(float_dtypes.pop(), 'float32') if len(float_dtypes) == 1 else 'float32'

    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(state_dict, osp.join(out_dir, WEIGHTS_FILE), metadata=dict(format='pt'))
    with open(osp.join(out_dir, HF_CONFIG_FILE), 'w') as f:
        json.dump(hf, f, indent=2)
    with open(osp.join(out_dir, PREPROCESSOR_CONFIG_FILE), 'w') as f:
        json.dump(preprocessor_config(cfg, backbone, TASKS[head_kind]), f, indent=2)
    # our config as data (no code): init_*_model(None, 'hf://owner/name') rebuilds this model from it
    if 'model' in cfg:
        cfg.model.backbone.pop('init_cfg', None)
    elif 'backbone' in cfg:
        cfg.backbone.pop('init_cfg', None)
    cfg.load_from = None
    try:
        cfg.dump(osp.join(out_dir, SAPIENS2_CONFIG_FILE))
    except (TypeError, ValueError) as err:  # a value JSON cannot hold: the transformers files are complete anyway
        if osp.exists(osp.join(out_dir, SAPIENS2_CONFIG_FILE)):
            os.remove(osp.join(out_dir, SAPIENS2_CONFIG_FILE))
        print(f'warning: {SAPIENS2_CONFIG_FILE} not written ({err}); loading the export here will need the config')
    return hf
