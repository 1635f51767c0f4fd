"""Per-GPU training memory of a sapiens2 config for DDP vs FSDP (FullyShardStrategy), with and without per-block
activation checkpointing: parameters, gradients, AdamW state and activations.

    python tools/analysis/estimate_memory.py CONFIG [--gpus N] [--batch B] [--shape H W] [--gpu-mem 80]

CONFIG is a task config (``model``) or a backbone-only base (``configs/_base_/models/sapiens2_5b.py``). B is the
per-GPU batch (default: the config's ``train_dataloader.batch_size``, else 1). Nothing is allocated: the model is
built on fake tensors (``sapiens2.utils.complexity.profile_model``), so the saved-for-backward activations are those
of the real modules in bf16 (attention as a fused kernel, O(N) memory).

Accounting (bf16 mixed precision, fp32 master weights, AdamW):
  DDP : fp32 weights 4P + fp32 grads 4P + AdamW 8P + bf16 autocast weight copies 2P + B x activations
  FSDP: (4P + 4P + 8P) / N + bf16 gathered root unit 2P_root + 2 blocks in flight (bf16 weights and grads,
        current + prefetched) 8P_block + B x activations
Not included: CUDA context, allocator fragmentation and communication buffers (budget 3-5 GB).
"""
import argparse
import os.path as osp

GiB = 2 ** 30


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--gpus', type=_positive_int, default=8, help='data-parallel GPUs (FSDP shards over them)')
    parser.add_argument('--batch', type=int, help='per-GPU batch (default: the config\'s, else 1)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: img_size)')
    parser.add_argument('--gpu-mem', type=float, default=80.0, help='GPU memory in GiB for the "fits" column')
    parser.add_argument('--markdown', action='store_true', help='one markdown table row (for the README)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sapiens2.utils.complexity import estimate_memory, load_config, profile_model
    cfg = load_config(args.config)
    batch = args.batch or cfg.get('train_dataloader', {}).get('batch_size', 1)
    prof = profile_model(cfg, args.shape)
    est = estimate_memory(prof, args.gpus, batch)
    name = osp.splitext(osp.basename(args.config))[0]
    if args.markdown:
        cells = [f'{est[(s, c)]["total"] / GiB:.1f}' for s in ('DDP', 'FSDP') for c in (False, True)]
        print(f'| {name} | {prof.params / 1e9:.3f} | {batch} | {args.gpus} | ' + ' | '.join(cells) + ' |')
        return
    print(f'{name}: {prof.params:,} parameters ({sum(prof.block_params):,} in {len(prof.block_params)} blocks), '
          f'batch {batch}/GPU, {args.gpus} GPUs')
    print(f'activations per sample: {prof.act_total / GiB:.2f} GiB, with per-block checkpointing '
          f'{prof.act_checkpointed / GiB:.2f} GiB (largest block {max(prof.act_blocks) / GiB:.3f} GiB, '
          f'outside blocks {prof.act_other / GiB:.2f} GiB)')
    print(f'{"strategy":<10}{"ckpt":<6}{"states":>10}{"gathered":>10}{"activ.":>10}{"total GiB":>11}  fits '
          f'{args.gpu_mem:g} GiB')
    for (strategy, ckpt), e in est.items():
        fits = 'yes' if e['total'] / GiB + 4 <= args.gpu_mem else 'no'
        print(f'{strategy:<10}{"on" if ckpt else "off":<6}{e["states"] / GiB:>10.1f}{e["gathered"] / GiB:>10.1f}'
              f'{e["activations"] / GiB:>10.1f}{e["total"] / GiB:>11.1f}  {fits}')


if __name__ == '__main__':
    main()
