#!/usr/bin/env python
"""Write small synthetic datasets for the dense tasks (seg, normal, pointmap, albedo, matting) in the documented
formats.

Example: python tools/dataset_converters/make_synthetic_dense.py data/synthetic_dense --num 16 --height 128 --width 96
"""
import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='root folder; one sub-folder per task is written')
    parser.add_argument('--num', type=int, default=16, help='samples per task')
    parser.add_argument('--height', type=int, default=128)
    parser.add_argument('--width', type=int, default=96)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tasks', nargs='+', default=['seg', 'normal', 'pointmap', 'albedo', 'matting'])
    args = parser.parse_args()
    from sapiens2.datasets.synthetic import write_synthetic_dataset
    roots = write_synthetic_dataset(args.out_dir, args.num, args.height, args.width, args.seed, args.tasks)
    for task, root in roots.items():
        print(f'{task}: {root}')


if __name__ == '__main__':
    main()
