"""Parameters and FLOPs of a sapiens2 model in the paper's convention, counted on the meta device (no weights).

    python tools/analysis/get_model_complexity.py CONFIG [--shape H W] [--backbone-only] [--json] [--device meta]

CONFIG is a task config (``model`` with a ``backbone``) or a backbone base such as
``configs/_base_/models/sapiens2_5b.py`` (only ``backbone``). ``flops`` = multiply-accumulates of the conv and linear
layers of one forward pass of one image (the convention of the paper's Table 1); the attention matmuls
(Q·Kᵀ, A·V) are reported separately as ``attention_macs``. See ``sapiens2/utils/complexity.py``. With ``--json`` the
last line of the output is a JSON object (``params``, ``flops``, ``linear_macs``, ``conv_macs``, ``attention_macs``,
``flops_with_attention``, ``input_shape``).
"""
import argparse
import json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs (paper convention) of a sapiens2 model')
    parser.add_argument('config', help='task config (with `model`) or backbone config (with `backbone`)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input height and width (default: the backbone's img_size)")
    parser.add_argument('--backbone-only', action='store_true', help='count the backbone alone')
    parser.add_argument('--json', action='store_true', help='print the result as JSON on the last line')
    parser.add_argument('--device', default='meta', choices=['meta', 'cpu'],
                        help='where to build the model (meta: no memory, the default)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    from sapiens2.models.builder import build_without_weights
    from sapiens2.utils.complexity import get_model_complexity, load_config, model_config

    cfg = load_config(args.config)
    init_default_scope(cfg.get('default_scope', 'sapiens2'))
    model_cfg = model_config(cfg, args.backbone_only)
    backbone_cfg = model_cfg.get('backbone', model_cfg)
    H, W = args.shape or tuple(backbone_cfg.get('img_size', (1024, 768)))
    model = build_without_weights(model_cfg, device='meta' if args.device == 'meta' else None)

    def forward(m, x):
        if hasattr(m, 'backbone') and hasattr(m, 'decode_head'):
            return m(x, mode='tensor')
        return m(x)

    with torch.no_grad():
        result = get_model_complexity(model, (1, 3, H, W), forward=forward)
    out = dict(result.to_dict(), input_shape=[1, 3, H, W], model=model_cfg.get('type'))
    print(f'model: {out["model"]}  input: 1x3x{H}x{W}')
    print(f'params:                 {result.params / 1e9:.4f} B ({result.params:,})')
    print(f'FLOPs (conv+linear MAC): {result.flops / 1e12:.4f} T')
    print(f'  linear MACs:           {result.linear_macs / 1e12:.4f} T')
    print(f'  conv MACs:             {result.conv_macs / 1e12:.4f} T')
    print(f'attention matmul MACs:   {result.attention_macs / 1e12:.4f} T (not in FLOPs)')
    print(f'FLOPs with attention:    {result.flops_with_attention / 1e12:.4f} T')
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
