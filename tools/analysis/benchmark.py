"""Throughput of a sapiens2 config on this machine, against its measured matmul rate.

    python tools/analysis/benchmark.py CONFIG [--shape H W] [--batch B] [--dtype fp32|bf16] [--train]
        [--mask-ratio 0.75] [--tokenizer-memory H W H2 W2] [--iters N]
    python tools/analysis/benchmark.py --decode [--batch 16]      # heatmap decoding: batched torch vs mmpose numpy

CONFIG is a task config (``model``: backbone and full-model numbers) or a backbone-only base
(``configs/_base_/models/sapiens2_0.4b.py``). Weights are random (no checkpoint needed); ``--dtype bf16`` runs the
model with bf16 weights. Linear/conv FLOPs come from sapiens2.utils.complexity (forward hooks on fake tensors) and
attention FLOPs are added analytically; "achieved" = counted FLOPs x images/s, compared with the rate of a large
square matmul of the same dtype measured in the same run.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time

import numpy as np

# torch, MMEngine and the sapiens2 modules built on them are imported inside the functions, after argument parsing
DTYPE_NAMES = dict(fp32='float32', bf16='bfloat16')  # --dtype -> torch dtype attribute


def torch_dtype(name: str):
    import torch
    return getattr(torch, DTYPE_NAMES[name])


# glibc hands every large freed block back to the OS, so each new activation tensor page-faults its memory in
# again: on CPU that costs more than the elementwise ops themselves (10x on bf16 casts). Keep freed memory in the
# heap instead (the same effect as running with jemalloc / tcmalloc).
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='33554432', MALLOC_TRIM_THRESHOLD_='100000000000',
                  MALLOC_TOP_PAD_='1073741824')


def matmul_rate(dtype, n: int = 2048, iters: int = 5) -> float:
    """FLOP/s of an n x n x n matmul (2n³ FLOPs) in ``dtype``."""
    import torch

    from sapiens2.deployment.bench import median_time as timeit
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n ** 3 / timeit(lambda: a @ b, iters)


def masked_forward(backbone, x, mask_ratio: float, generator):
    """The MAE student encoder (:meth:`Sapiens2Pretrainer.encode`) on a random (1 - mask_ratio) share of the tokens
    per sample (after the 4K tokenizer, which then runs on the kept windows only); returns [B, prefix + kept, C]."""
    import torch

    from sapiens2.models.pretrain import Sapiens2Pretrainer
    B, h, w = x.shape[0], x.shape[-2] // backbone.input_divisor, x.shape[-1] // backbone.input_divisor
    keep = max(1, int(round(h * w * (1 - mask_ratio))))
    ids_keep = torch.rand(B, h * w, generator=generator).argsort(1)[:, :keep].sort(1).values  # [B, keep]
    return Sapiens2Pretrainer.encode(backbone, x, ids_keep)[0]


def bench_model(args):
    import torch

    from sapiens2.deployment.bench import median_time as timeit
    from sapiens2.utils.complexity import (build_model, get_backbone, input_shape, load_config, profile_model,
                                           run_forward)
    cfg = load_config(args.config)
    dtype = torch_dtype(args.dtype)
    H, W = input_shape(cfg, args.shape)
    torch.manual_seed(0)
    rate = matmul_rate(dtype)
    prof = profile_model(cfg, (H, W), dtype=dtype)
    model = build_model(cfg).to(dtype)
    backbone = get_backbone(model)
    x = torch.randn(args.batch, 3, H, W, dtype=dtype)
    res = dict(config=osp.basename(args.config), shape=[H, W], batch=args.batch, dtype=args.dtype,
               threads=torch.get_num_threads(), matmul_gflops=rate / 1e9, params=prof.params)
    # the backbone's share of the counted FLOPs: profile it alone when the config is a task model
    bb_prof = prof if backbone is model else profile_model(_backbone_only(cfg), (H, W), dtype=dtype)
    rows = [('backbone', backbone, bb_prof)] + ([] if backbone is model else [('full model', model, prof)])
    for name, module, p in rows:
        module.eval()
        with torch.inference_mode():
            t = timeit(lambda: run_forward(module, x), args.iters)
        flops = args.batch * p.forward_flops
        res[f'{name} forward'] = dict(
            img_per_s=args.batch / t, sec_per_iter=t, gflop_per_img=p.forward_flops / 1e9,
            linear_gflop_per_img=p.linear_flops / 1e9, achieved_gflops=flops / t / 1e9,
            linear_achieved_gflops=args.batch * p.linear_flops / t / 1e9,
            fraction_of_matmul=flops / t / rate)
        if args.train:
            module.train()

            def step():
                out = run_forward(module, x)
                out = out[-1] if isinstance(out, (tuple, list)) else out
                out.float().mean().backward()
                module.zero_grad(set_to_none=True)
            t = timeit(step, args.iters)
            res[f'{name} forward+backward'] = dict(
                img_per_s=args.batch / t, sec_per_iter=t,
                achieved_gflops=3 * flops / t / 1e9, fraction_of_matmul=3 * flops / t / rate)
    if args.mask_ratio:
        g = torch.Generator().manual_seed(0)
        backbone.eval()
        with torch.inference_mode():
            t_full = timeit(lambda: backbone(x), args.iters)
            t_mask = timeit(lambda: masked_forward(backbone, x, args.mask_ratio, g), args.iters)
        res['masked encoder'] = dict(mask_ratio=args.mask_ratio, sec_unmasked=t_full, sec_masked=t_mask,
                                     cost_fraction=t_mask / t_full)
    return res


def _backbone_only(cfg):
    from mmengine.config import Config
    return Config(dict(backbone=cfg.model.backbone))


def tokenizer_peak(args):
    """Child process: peak RSS growth (MiB) of one no-grad forward of the backbone with the 4K tokenizer."""
    import torch

    from sapiens2.utils.complexity import build_model, get_backbone, load_config
    cfg = load_config(args.config)
    H, W = args.tokenizer_peak
    backbone = get_backbone(build_model(cfg, use_tokenizer=True)).to(torch_dtype(args.dtype)).eval()
    x = torch.randn(1, 3, H, W, dtype=torch_dtype(args.dtype))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.inference_mode():
        backbone(x)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    windows = (H // backbone.input_divisor) * (W // backbone.input_divisor)
    print(json.dumps(dict(shape=[H, W], windows=windows, peak_growth_mib=(peak - base) / 1024)))


def bench_tokenizer_memory(args):
    out = []
    sizes = args.tokenizer_memory
    for H, W in zip(sizes[::2], sizes[1::2]):
        cmd = [sys.executable, osp.abspath(__file__), args.config, '--dtype', args.dtype, '--tokenizer-peak',
               str(H), str(W)] + (['--system-malloc'] if args.system_malloc else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return dict(tokenizer_memory=out)


def bench_decode(args):
    import torch
    from mmpose.codecs import UDPHeatmap

    from sapiens2.codecs import BatchedUDPHeatmap
    from sapiens2.deployment.bench import median_time as timeit
    B, K = args.batch, 308
    kwargs = dict(input_size=(768, 1024), heatmap_size=(192, 256), sigma=6, blur_kernel_size=11)
    ref, ours = UDPHeatmap(**kwargs), BatchedUDPHeatmap(**kwargs)
    rng = np.random.default_rng(0)
    one = ref.encode(rng.uniform([50, 50], [718, 974], (1, K, 2)).astype(np.float32),
                     np.ones((1, K), np.float32))['heatmaps']
    heatmaps = np.stack([np.roll(one, (int(rng.integers(-8, 8)), int(rng.integers(-8, 8))), axis=(1, 2)) +
                         rng.normal(0, 0.01, one.shape).astype(np.float32) for _ in range(B)])
    tensor = torch.from_numpy(heatmaps)
    t0 = time.perf_counter()
    ref_kpts = np.stack([ref.decode(h)[0] for h in heatmaps])
    t_numpy = time.perf_counter() - t0
    kpts, _ = ours.batch_decode(tensor)  # warm-up
    t_torch = timeit(lambda: ours.batch_decode(tensor), args.iters)
    return dict(decode=dict(shape=list(heatmaps.shape), numpy_per_instance_s=t_numpy, torch_batched_s=t_torch,
                            speedup=t_numpy / t_torch, max_abs_diff_px=float(np.abs(kpts - ref_kpts).max()),
                            threads=torch.get_num_threads()))


def bench_backends(args):
    """--backends: images/s of each backend and dtype for the backbone and the full model (random weights, a real
    image as input), ratios to eager fp32 and output differences; see sapiens2/deployment/bench.py."""
    import torch

    from sapiens2.deployment.bench import bench_backends as run, format_rows
    from sapiens2.utils.complexity import build_model, get_backbone, input_shape, load_config
    cfg = load_config(args.config)
    H, W = input_shape(cfg, args.shape)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    backbone = get_backbone(model)
    res = dict(config=osp.basename(args.config), shape=[H, W], batch=args.batch, threads=torch.get_num_threads())
    targets = [('backbone', backbone)] if 'backbone' in args.rows or backbone is model else []
    if backbone is not model and 'full' in args.rows:
        targets.append(('full model', model))
    for name, target in targets:
        print(f'{name} {H}x{W}, batch {args.batch}:')
        rows = run(target, (H, W), args.backends, args.dtypes, batch=args.batch, iters=args.iters)
        res[name] = rows
        print(format_rows(f'{res["config"]} {name} {H}x{W}', rows))
    return res


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--dtype', choices=sorted(DTYPE_NAMES), default='fp32')
    parser.add_argument('--train', action='store_true', help='also time forward + backward')
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--mask-ratio', type=float, default=0.0, help='also time the masked (MAE) encoder')
    parser.add_argument('--tokenizer-memory', type=int, nargs='+', metavar='H W',
                        help='peak memory of the 4K-tokenizer backbone at these sizes (pairs H W ...)')
    parser.add_argument('--tokenizer-peak', type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument('--decode', action='store_true', help='heatmap decoding benchmark (16x308x256x192)')
    parser.add_argument('--backends', nargs='+', metavar='B',
                        help='inference backends side by side (eager compile onnxruntime int8-ort int8-torch, '
                             'sapiens2/deployment/bench.py); --dtypes fp32 bf16 for eager / compile')
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=sorted(DTYPE_NAMES))
    parser.add_argument('--rows', nargs='+', default=['backbone', 'full'], choices=['backbone', 'full'],
                        help='--backends: time the backbone and/or the full model')
    parser.add_argument('--out', help='also write the results as JSON here')
    parser.add_argument('--system-malloc', action='store_true', help='keep glibc\'s default malloc settings')
    args = parser.parse_args()
    if not args.decode and not args.config:
        parser.error('CONFIG is required unless --decode')
    return args


def main():
    args = parse_args()
    if not args.system_malloc and any(k not in os.environ for k in MALLOC_ENV):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})  # restart tuned
    if args.tokenizer_peak:
        return tokenizer_peak(args)
    if args.decode:
        res = bench_decode(args)
    elif args.backends:
        res = bench_backends(args)
    elif args.tokenizer_memory:
        res = bench_tokenizer_memory(args)
    else:
        res = bench_model(args)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
