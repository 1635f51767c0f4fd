#!/usr/bin/env python
"""Accuracy cost of the fast paths on a config's test set (e.g. the bundled COCO-WholeBody sample): the config's
metric for each backend / dtype / int8 variant, and the prediction difference to eager fp32.

    python tools/deployment/accuracy.py CONFIG CHECKPOINT [--variants eager:fp32 eager:bf16 eager:int8 \\
        onnxruntime:fp32 onnxruntime:int8] [--out accuracy.json]

pose: AP / AR (whole body) and keypoint px differences (median, 95th percentile, share within 1 px) to eager
fp32;
seg: mIoU and pixel agreement with eager fp32.
"""
import argparse
import json
import os.path as osp
import tempfile
import warnings

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--variants', nargs='+',
                        default=['eager:fp32', 'eager:bf16', 'eager:int8', 'onnxruntime:fp32', 'onnxruntime:int8'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--out', default=None)
    return parser.parse_args()


def main():
    args = parse_args()
    warnings.filterwarnings('ignore')
    from mmengine.evaluator import Evaluator

    from sapiens2.apis import inference_data
    from sapiens2.apis.dense_inference import init_dense_model
    from sapiens2.apis.inference import accelerate_model
    from sapiens2.registry import DATASETS
    model = init_dense_model(args.config, args.checkpoint)
    cfg = model.cfg
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    data = [dataset[i] for i in range(len(dataset))]
    is_pose = type(model).__name__ == 'TopdownPoseEstimator'
    tmp = tempfile.TemporaryDirectory()
    onnx_path = osp.join(tmp.name, 'model.onnx')
    results, preds = {}, {}
    for variant in args.variants:
        backend, kind = variant.split(':')
        quantize = 'int8' if kind == 'int8' else None
        dtype = 'fp32' if kind == 'int8' else kind
        fast = accelerate_model(model, backend, dtype, quantize, onnx_path=onnx_path if backend == 'onnxruntime'
                                else None)
        samples = inference_data(fast, data, batch_size=args.batch_size, dtype=dtype)
        evaluator = Evaluator(cfg.test_evaluator)
        evaluator.dataset_meta = dataset.metainfo
        evaluator.process(data_samples=[s.to_dict() if hasattr(s, 'to_dict') else s for s in samples],
                          data_batch=None)
        metrics = evaluator.evaluate(len(samples))
        if is_pose:
            preds[variant] = np.concatenate([s.pred_instances.keypoints for s in samples])
            row = {k: float(v) for k, v in metrics.items() if k in ('all/coco/AP', 'all/coco/AR', 'body/coco/AP')}
        else:
            preds[variant] = np.stack([s.pred_sem_seg.data.cpu().numpy() for s in samples])
            row = {k: float(v) for k, v in metrics.items() if k in ('mIoU', 'aAcc')}
        ref = preds.get('eager:fp32')
        if ref is not None and variant != 'eager:fp32':
            if is_pose:
                d = np.linalg.norm(preds[variant] - ref, axis=-1)
                d = np.where(np.isfinite(d), d, np.inf)  # an ill-posed DARK step can send a keypoint far away
                row.update(kpt_px_median=float(np.median(d)), kpt_px_p95=float(np.percentile(d, 95)),
                           kpt_share_within_1px=float((d <= 1).mean()))
            else:
                row.update(pixel_agreement=float((preds[variant] == ref).mean()))
        results[variant] = row
        print(variant, json.dumps(row))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
