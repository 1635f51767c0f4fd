"""Export a model to the layout of the Hugging Face Hub repos, loadable by transformers' ``Sapiens2*`` classes.

    python tools/convert/to_hf.py CONFIG CKPT OUT_DIR [--dtype fp32|bf16|fp16] [--src-prefix P]

CONFIG is a task config (pose, seg, normal, pointmap) or a backbone config; CKPT any checkpoint the project reads
(``.pth``, ``.safetensors``, a Hub id). What OUT_DIR receives and what is refused: :mod:`sapiens2.utils.hf_export`
and the README section "Checkpoints from the Hugging Face Hub and export to transformers". Upload the folder with
``hf upload owner/name OUT_DIR``.
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
