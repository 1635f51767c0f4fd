"""Export a model to the layout of the Hugging Face Hub repos, loadable by transformers' ``Sapiens2*`` classes.

    python tools/convert/to_hf.py CONFIG CKPT OUT_DIR [--dtype fp32|bf16|fp16] [--src-prefix P]

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
import argparse

from sapiens2.cli import CHECKPOINT_DTYPE_NAMES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='task or backbone config (file or bundled name, e.g. pose/sapiens2_1b_308kpt)')
    parser.add_argument('checkpoint', help='checkpoint (.pth, .safetensors or a Hub id)')
    parser.add_argument('out_dir', help='output folder (Hub repo layout)')
    parser.add_argument('--dtype', choices=CHECKPOINT_DTYPE_NAMES, help='cast the weights (default: keep)')
    parser.add_argument('--src-prefix', default='', help='take the keys under this prefix of the checkpoint')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.hf_export import export
    from sapiens2.utils.hub import HF_CONFIG_FILE, PREPROCESSOR_CONFIG_FILE, SAPIENS2_CONFIG_FILE, WEIGHTS_FILE
    hf = export(args.config, args.checkpoint, args.out_dir, args.dtype, args.src_prefix)
    print(f'wrote {args.out_dir}: {hf["architectures"][0]} (hidden_size {hf["hidden_size"]}, '
          f'{hf["num_hidden_layers"]} layers), {WEIGHTS_FILE}, {HF_CONFIG_FILE}, {PREPROCESSOR_CONFIG_FILE}, '
          f'{SAPIENS2_CONFIG_FILE}')


def __getattr__(name):
    """The library's names (``export``, ``NotExportable``, ...) for code that loads this tool as a module."""
    from sapiens2.utils import hf_export
    return getattr(hf_export, name)


if __name__ == '__main__':
    main()
