#!/usr/bin/env python
"""Export a Sapiens2 task model (pose, seg, normal, pointmap, albedo) or a bare backbone, and verify it.

    python tools/deployment/export.py CONFIG CHECKPOINT --format torchscript|exported|onnx \\
        [--dtype fp32|bf16|fp16] [--shape H W] [--dynamic-batch] [--batch B] [--out FILE] [--verify] \\
        [--images DIR] [--max-inputs N] [--report report.json]

CONFIG: a task config (file or bundled name, e.g. ``pose/sapiens2_1b_308kpt``) or a backbone-only base
(``configs/_base_/models/sapiens2_0.1b.py``: the bare backbone, ``featmap`` output). CHECKPOINT: .safetensors /
.pth (``--prefix backbone.`` takes a backbone out of a task file), or ``none`` for random weights.
The artefact takes normalised RGB images [B, 3, H, W] float32 and returns the raw outputs (float32), with the
preprocessing / post-processing spec saved inside it (see sapiens2/deployment/export.py);
``tools/deployment/onnx_infer.py`` runs an ONNX file end to end without torch.

``--verify`` runs the artefact and the eager fp32 model on real images (the bundled COCO sample, through the model's
own test pipeline: pose crops of the GT boxes, the dense resize; ``--images`` for another folder) and prints the
parity report: max / mean |diff| of the raw outputs and the task-level difference (pose: keypoint px after UDP
decoding; seg: pixel agreement; normal: angle; pointmap: relative difference; albedo: |diff|).
"""
import argparse
import json
import os.path as osp
import sys
import time
import warnings

FORMATS = ('torchscript', 'exported', 'onnx')  # = sapiens2.deployment.export.FORMATS (heavy imports after parsing)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="weights, or 'none' for random weights")
    parser.add_argument('--format', required=True, choices=FORMATS)
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config)')
    parser.add_argument('--dynamic-batch', action='store_true', help='batch size free at run time')
    parser.add_argument('--batch', type=int, default=1, help='example / fixed batch size')
    parser.add_argument('--out', help='output file (default: work_dirs/deploy/<config><ext>)')
    parser.add_argument('--prefix', default=None, help="checkpoint key prefix for a bare backbone ('backbone.')")
    parser.add_argument('--verify', action='store_true', help='parity report on real images')
    parser.add_argument('--images', default=None, help='image folder for --verify (default: the bundled sample)')
    parser.add_argument('--max-inputs', type=int, default=8, help='network inputs used by --verify')
    parser.add_argument('--report', default=None, help='write the parity report as JSON here')
    parser.add_argument('--opset', type=int, default=18)
    return parser.parse_args(argv)


def build(config: str, checkpoint: str, prefix=None):
    """-> (model in eval mode, config). A backbone-only config gives a bare ``Sapiens2`` (featmap output)."""
    import torch

    from sapiens2.utils.package_files import load_config
    cfg = load_config(config)
    ckpt = None if checkpoint.lower() in ('none', 'random') else checkpoint
    if 'model' not in cfg:
        from sapiens2.models.backbones import Sapiens2
        from sapiens2.utils.checkpoint import load_pretrained
        kwargs = dict(cfg.backbone)
        kwargs.pop('type', None)
        kwargs.pop('init_cfg', None)
        kwargs.update(out_type='featmap')
        model = Sapiens2(**kwargs)
        if ckpt:
            load_pretrained(model, ckpt, prefix=prefix or '', strict=True)
        else:
            torch.manual_seed(0)
            model.init_weights()
        return model.eval(), cfg
    from sapiens2.apis.dense_inference import init_dense_model
    model = init_dense_model(cfg, ckpt)  # model.dataset_meta: the config's test dataset metainfo (pose keypoints)
    if ckpt is None:
        torch.manual_seed(0)
        model.init_weights()
    return model.eval(), cfg


def main(argv=None):
    args = parse_args(argv)
    import torch

    from sapiens2.deployment.export import EXTENSIONS, export_model, format_report, real_inputs, verify_export
    warnings.filterwarnings('ignore', category=FutureWarning)
    warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
    model, cfg = build(args.config, args.checkpoint, args.prefix)
    out = args.out or osp.join('work_dirs', 'deploy',
                               osp.splitext(osp.basename(args.config))[0] + EXTENSIONS[args.format])
    t = time.perf_counter()
    try:
        spec = export_model(model, args.format, out, shape=args.shape, dtype=args.dtype,
                            dynamic_batch=args.dynamic_batch, batch=args.batch, cfg=cfg, opset=args.opset)
    except ValueError as e:
        print(f'export refused: {e}', file=sys.stderr)
        return 2
    print(f"exported {spec['task']} ({args.format}, {args.dtype}, input {spec['input_shape']}, "
          f"{'dynamic' if args.dynamic_batch else 'fixed'} batch) -> {out} in {time.perf_counter() - t:.1f} s")
    if args.verify:
        images = real_inputs(model, tuple(spec['input_shape']), args.images, args.max_inputs)
        report = verify_export(model, out, images)
        print(format_report(report))
        if args.report:
            with open(args.report, 'w') as f:
                json.dump(report, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
