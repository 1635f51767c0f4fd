#!/usr/bin/env python
"""Convert a public human-parsing dataset (LIP, CIHP, ATR, Pascal-Person-Part, or your own folders) to the
segmentation folder format: ``OUT/<split>/images/<stem>.<jpg|png>`` + ``OUT/<split>/masks/<stem>.png`` (8-bit ids).

Source layouts (folders are found by name anywhere below SRC, so an extra top folder from the archive is fine):
  lip                 {train,val}_images/*.jpg + {train,val}_segmentations/*.png (TrainVal_images.zip,
                      TrainVal_parsing_annotations.zip)
  cihp                Training/Images + Training/Category_ids, Validation/Images + Validation/Category_ids
                      (instance-level_human_parsing; the class ids, not the colour-coded Categories)
  atr                 JPEGImages + SegmentationClassAug (humanparsing); no official split: everything is 'train'
                      unless --split-ids gives the lists
  pascal_person_part  JPEGImages + SegmentationPart with the {train,val}_id.txt lists (Graphonomy's layout)
  custom              --images-dir, --masks-dir and --metainfo required

Masks keep the dataset's ids (train with configs/seg/sapiens2_1b_<dataset>.py), or are remapped with --label-map
(e.g. lip_to_seg29: ids without a target class become 255). A mask id outside the class list (other than 255), a
colour-coded mask, a mask without an image or a mask whose size differs from its image stops the conversion naming
the file.

Example: python tools/dataset_converters/human_parsing.py lip ~/datasets/LIP data/lip
         python tools/dataset_converters/human_parsing.py cihp ~/datasets/CIHP data/lip_seg29 --label-map lip_to_seg29
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IGNORE = 255
# dataset -> (bundled metainfo, {split: (image folder, mask folder, id list file name or None)})
LAYOUTS = {
    'lip': ('lip', {'train': ('train_images', 'train_segmentations', None),
                    'val': ('val_images', 'val_segmentations', None)}),
    'cihp': ('lip', {'train': ('Training/Images', 'Training/Category_ids', None),
                     'val': ('Validation/Images', 'Validation/Category_ids', None)}),
    'atr': ('atr', {'train': ('JPEGImages', 'SegmentationClassAug', None)}),
    'pascal_person_part': ('pascal_person_part', {'train': ('JPEGImages', 'SegmentationPart', 'train_id.txt'),
                                                  'val': ('JPEGImages', 'SegmentationPart', 'val_id.txt')}),
}


class ConversionError(ValueError):
    """A source file or folder cannot be converted; the message names it."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=sorted(LAYOUTS) + ['custom'])
    parser.add_argument('src', help='the extracted dataset folder')
    parser.add_argument('out', help='output folder: OUT/<split>/{images,masks}')
    parser.add_argument('--splits', nargs='+', help='splits to convert (default: all of the layout)')
    parser.add_argument('--split-ids', nargs='+', default=[], metavar='SPLIT=FILE',
                        help='id list (one stem per line) defining a split, e.g. val=atr_val.txt')
    parser.add_argument('--images-dir', help='image folder relative to SRC; {split} is replaced by the split name')
    parser.add_argument('--masks-dir', help='mask folder relative to SRC; {split} is replaced by the split name')
    parser.add_argument('--metainfo', help='class list JSON (default: the dataset\'s, sapiens2/metainfo/<name>.json)')
    parser.add_argument('--label-map', help='bundled map name (lip_to_seg29, atr_to_seg29) or a JSON {src: dst}')
    parser.add_argument('--link', action='store_true', help='symlink the images instead of copying them')
    parser.add_argument('--limit', type=int, help='convert at most this many samples per split (quick trials)')
    args = parser.parse_args(argv)
    if args.dataset == 'custom' and not (args.images_dir and args.masks_dir and args.metainfo):
        parser.error('custom needs --images-dir, --masks-dir and --metainfo')
    return args


def metainfo_dir() -> str:
    """``sapiens2/metainfo`` of the installed package (found without importing it), else of this checkout."""
    from importlib.util import find_spec
    spec = find_spec('sapiens2')
    if spec is not None and spec.origin:
        return osp.join(osp.dirname(spec.origin), 'metainfo')
    return osp.join(REPO, 'sapiens2', 'metainfo')


def load_json_file(name_or_path: str, what: str):
    """A bundled metainfo name (``lip``, ``lip_to_seg29``) or a JSON path -> (parsed JSON, path)."""
    path = name_or_path if osp.isfile(name_or_path) else osp.join(metainfo_dir(), name_or_path + '.json')
    if not osp.isfile(path):
        raise ConversionError(f'{what} {name_or_path!r}: neither a file nor a bundled {path}')
    with open(path) as f:
        try:
            return json.load(f), path
        except json.JSONDecodeError as e:
            raise ConversionError(f'{what} {path} is not valid JSON: {e}') from e


def find_dir(src: str, rel: str, max_depth: int = 4) -> str:
    """The one folder below ``src`` (``src`` itself included, at most ``max_depth`` levels down) whose path ends
    with ``rel`` (e.g. 'Training/Images')."""
    parts = tuple(p for p in rel.replace('\\', '/').split('/') if p)
    hits = []
    for root, dirs, _ in os.walk(src):
        depth = 0 if root == src else osp.relpath(root, src).count(os.sep) + 1
        if depth >= max_depth:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        if tuple(osp.normpath(root).split(os.sep)[-len(parts):]) == parts:
            hits.append(root)
    if len(hits) != 1:
        found = 'none' if not hits else ', '.join(hits)
        raise ConversionError(f'expected one folder {rel!r} below {src}, found {found}; give it with --images-dir / '
                              f'--masks-dir (relative to SRC)')
    return hits[0]


def find_file(src: str, name: str, max_depth: int = 4):
    """The one file called ``name`` below ``src`` (or None when there is none)."""
    hits = [osp.join(root, name) for root, _, files in os.walk(src) if name in files
            and osp.relpath(root, src).count(os.sep) < max_depth]
    if len(hits) > 1:
        raise ConversionError(f'several {name} below {src}: {", ".join(sorted(hits))}; pass --split-ids')
    return hits[0] if hits else None


def read_ids(path: str) -> list:
    with open(path) as f:
        ids = [osp.splitext(line.split()[0])[0] for line in f if line.strip()]
    if not ids:
        raise ConversionError(f'id list {path} is empty')
    return ids


def index_files(folder: str, extensions) -> dict:
    """{stem: path} of the files with one of ``extensions``; two files for one stem is an error naming both."""
    out = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(name)
        if ext.lower() in extensions:
            if stem in out:
                raise ConversionError(f'two files for sample {stem!r}: {out[stem]} and {osp.join(folder, name)}')
            out[stem] = osp.join(folder, name)
    return out


def split_ids(args) -> dict:
    """{split: id list file} from ``--split-ids SPLIT=FILE``."""
    out = {}
    for item in args.split_ids:
        split, sep, path = item.partition('=')
        if not sep or not split or not osp.isfile(path):
            raise ConversionError(f'--split-ids {item!r}: expected SPLIT=FILE with an existing file')
        out[split] = path
    return out


def plan_split(args, split: str, layout: dict) -> list:
    """[(stem, image path, mask path)] of one split, checked for missing partners."""
    folders = {v[:2] for v in layout.values()}
    if split in layout:
        img_rel, mask_rel, ids_name = layout[split]
    elif (args.images_dir and args.masks_dir) or (len(folders) == 1 and split in split_ids(args)):
        # one folder pair for all splits (ATR: its samples chosen by the split's --split-ids list)
        (img_rel, mask_rel), ids_name = (folders.pop() if folders else (None, None)), None
    elif len(folders) == 1:
        raise ConversionError(f'{args.dataset} has no {split!r} split of its own: pass --split-ids {split}=FILE (the '
                              f'stems of its samples), else it would be a copy of the whole dataset')
    else:
        raise ConversionError(f'{args.dataset} has the splits {", ".join(layout)}, not {split!r}; give its folders '
                              f'with --images-dir / --masks-dir')
    img_rel = (args.images_dir or img_rel).replace('{split}', split)
    mask_rel = (args.masks_dir or mask_rel).replace('{split}', split)
    img_dir = osp.join(args.src, img_rel) if args.images_dir else find_dir(args.src, img_rel)
    mask_dir = osp.join(args.src, mask_rel) if args.masks_dir else find_dir(args.src, mask_rel)
    for folder in (img_dir, mask_dir):
        if not osp.isdir(folder):
            raise ConversionError(f'folder {folder} does not exist')
    from sapiens2.image_files import IMG_EXTENSIONS
    images, masks = index_files(img_dir, IMG_EXTENSIONS), index_files(mask_dir, ('.png', ))
    ids_file = split_ids(args).get(split) or (find_file(args.src, ids_name) if ids_name else None)
    if ids_name and ids_file is None:
        raise ConversionError(f'{args.dataset} split {split!r}: no {ids_name} below {args.src}; pass '
                              f'--split-ids {split}=FILE')
    if ids_file:
        stems = read_ids(ids_file)
        for stem in stems:
            if stem not in images or stem not in masks:
                missing = 'image' if stem not in images else 'mask'
                raise ConversionError(f'{ids_file}: sample {stem!r} has no {missing} in '
                                      f'{img_dir if missing == "image" else mask_dir}')
    else:
        stems = sorted(masks)
        for stem in stems:
            if stem not in images:
                raise ConversionError(f'mask {masks[stem]} has no image: expected {osp.join(img_dir, stem)}'
                                      f'{{{",".join(IMG_EXTENSIONS)}}}')
    stems = stems[:args.limit] if args.limit else stems
    return [(stem, images[stem], masks[stem]) for stem in stems]


def convert_mask(mask_path: str, image_path: str, num_classes: int, lut):
    """Read the id mask (8/16-bit grey or palette PNG), check its ids and size -> uint8 ids (``lut`` applied)."""
    import numpy as np
    from PIL import Image
    with Image.open(mask_path) as im:
        if im.mode not in ('L', 'P', 'I', 'I;16'):
            raise ConversionError(f'mask {mask_path} is a {im.mode} image: expected class ids (8/16-bit grey or '
                                  f'palette PNG), not a colour-coded mask')
        ids = np.asarray(im).astype(np.int64)
    with Image.open(image_path) as im:
        if im.size != (ids.shape[1], ids.shape[0]):
            raise ConversionError(f'mask {mask_path} is {ids.shape[1]}x{ids.shape[0]}, its image {image_path} is '
                                  f'{im.size[0]}x{im.size[1]}')
    bad = (ids >= num_classes) & (ids != IGNORE) | (ids < 0)
    if bad.any():
        values, counts = np.unique(ids[bad], return_counts=True)
        listed = ', '.join(f'{v} ({c} px)' for v, c in zip(values[:10].tolist(), counts[:10].tolist()))
        raise ConversionError(f'mask {mask_path} has class id(s) {listed} outside the {num_classes} classes '
                              f'(0-{num_classes - 1}, {IGNORE} = ignore); wrong dataset or --metainfo?')
    return (ids if lut is None else lut[ids]).astype(np.uint8)


def build_lut(label_map: dict, path: str, num_classes: int):
    """{src: dst} -> a 256-entry lookup table (unmapped ids and 255 -> 255); keys must be source class ids."""
    import numpy as np
    lut = np.full(256, IGNORE, np.int64)
    for src, dst in label_map.items():
        if not 0 <= int(src) < num_classes or not 0 <= int(dst) <= IGNORE:
            raise ConversionError(f'label map {path}: entry {src} -> {dst} is outside source ids 0-{num_classes - 1} '
                                  f'or target ids 0-{IGNORE}')
        lut[int(src)] = int(dst)
    return lut


def main(argv=None):
    args = parse_args(argv)
    from PIL import Image
    from tqdm import tqdm

    meta_name, layout = LAYOUTS.get(args.dataset, (None, {}))
    meta, meta_path = load_json_file(args.metainfo or meta_name, 'metainfo')
    if 'classes' not in meta:
        raise ConversionError(f'metainfo {meta_path} has no "classes" list')
    num_classes = len(meta['classes'])
    lut, map_path = None, None
    if args.label_map:
        label_map, map_path = load_json_file(args.label_map, 'label map')
        lut = build_lut(label_map, map_path, num_classes)
    splits = args.splits or sorted(set(layout) | set(split_ids(args))) or ['train']
    plans = {split: plan_split(args, split, layout) for split in splits}
    counts = {}
    for split, samples in plans.items():
        img_out, mask_out = (osp.join(args.out, split, d) for d in ('images', 'masks'))
        os.makedirs(img_out, exist_ok=True)
        os.makedirs(mask_out, exist_ok=True)
        for stem, img, mask in tqdm(samples, desc=f'{args.dataset} {split}', unit='img'):
            ids = convert_mask(mask, img, num_classes, lut)
            dst = osp.join(img_out, stem + osp.splitext(img)[1].lower())
            if osp.lexists(dst):
                os.remove(dst)
            if args.link:
                os.symlink(osp.abspath(img), dst)
            else:
                shutil.copyfile(img, dst)
            Image.fromarray(ids, mode='L').save(osp.join(mask_out, stem + '.png'))
        counts[split] = len(samples)
    record = dict(dataset=args.dataset, src=osp.abspath(args.src), metainfo=meta_path, label_map=map_path,
                  samples=counts)
    with open(osp.join(args.out, 'conversion.json'), 'w') as f:
        json.dump(record, f, indent=1)
    print(', '.join(f'{split}: {n} samples' for split, n in counts.items()) + f' -> {args.out}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except ConversionError as e:
        sys.exit(f'error: {e}')
