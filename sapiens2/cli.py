"""Argument helpers shared by the command-line tools under tools/.

This module imports nothing heavy (no torch, no MMEngine), so a tool can build its parser and parse its arguments
(``--help`` answers at once) before it imports the library it drives. Everything that needs torch is imported
inside the functions, after parsing.
"""
import argparse

# --dtype choices of the checkpoint converters: the keys of sapiens2.utils.checkpoint.CHECKPOINT_DTYPES (a test
# checks that they agree), spelled out here so that the parsers need no torch.
CHECKPOINT_DTYPE_NAMES = ('bf16', 'fp16', 'fp32')


def add_cfg_options_arg(parser: argparse.ArgumentParser, example: str) -> argparse.ArgumentParser:
    """``--cfg-options KEY=VALUE ...`` (repeatable, the occurrences add up) of tools/train.py and tools/test.py,
    kept as strings by the parser; :func:`cfg_options_from_args` converts them after parsing."""
    parser.add_argument('--cfg-options', nargs='+', action='extend', default=[], metavar='KEY=VALUE',
                        help=f'override config keys, e.g. {example} (MMEngine DictAction syntax)')
    return parser


def cfg_options_from_args(parser: argparse.ArgumentParser, options) -> dict:
    """The parsed ``--cfg-options`` strings -> ``{'a.b': 1, 'c': [1, 2]}`` with MMEngine's ``DictAction`` value
    parsing (lists, tuples, numbers, booleans, None); an entry that is not KEY=VALUE is refused with
    ``parser.error``. Imports MMEngine: call it after parsing."""
    bad = [kv for kv in options if '=' not in kv]
    if bad:
        parser.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, list(options))
    return getattr(namespace, 'cfg_options', {})


def add_backbone_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--arch --checkpoint --prefix --use-tokenizer --size --device`` of the backbone probing tools
    (tools/analysis/{extract_features,knn_retrieval,pca_features,attention_maps}.py); see
    :func:`backbone_from_args`."""
    parser.add_argument('--arch', default='sapiens2_1b',
                        help='sapiens2_{0.1b,0.4b,0.8b,1b,5b}, a JSON dict, or a config whose (model.)backbone.arch '
                             'to use, e.g. configs/pretrain/sapiens2_tiny_pretrain_cpu.py')
    parser.add_argument('--checkpoint', default=None, help='backbone .safetensors / .pth (random init if omitted)')
    parser.add_argument('--prefix', default='', help="key prefix inside the checkpoint, e.g. 'backbone.'")
    parser.add_argument('--use-tokenizer', action='store_true', help='the 1B-4K backbone')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), metavar=('H', 'W'))
    parser.add_argument('--device', default=None, help='cuda, cpu, ... (default: cuda when available, else cpu)')
    return parser


def resolve_device(device=None) -> str:
    """``device``, or 'cuda' when available else 'cpu'."""
    if device:
        return device
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def backbone_from_args(args: argparse.Namespace):
    """The backbone of :func:`add_backbone_args`'s arguments (:func:`sapiens2.apis.feature_analysis.init_backbone`);
    sets ``args.device`` to the resolved device."""
    from sapiens2.apis.feature_analysis import init_backbone, parse_arch
    args.device = resolve_device(args.device)
    return init_backbone(parse_arch(args.arch), args.checkpoint, args.use_tokenizer, args.prefix, args.device)
