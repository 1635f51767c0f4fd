"""The README's "Layout" block matches the tree: every package folder (and models/ subfolder) and every config
folder is named there, and every path it names exists."""
import os
import os.path as osp
import re

from conftest import REPO_ROOT


def layout_block() -> str:
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text.split('\n## Layout\n', 1)[1]
    return section.split('```', 2)[1]


def subfolders(path: str):
    root = osp.join(REPO_ROOT, path)
    return sorted(d for d in os.listdir(root)
                  if osp.isdir(osp.join(root, d)) and not d.startswith(('__', '.')))  # not __pycache__, .mim


def named_paths(block: str):
    """Paths in the first column of the block: top-level lines (``configs/_base_/``, ``tools/``, ...) from the
    repository root, indented lines (``models/heads/``, ``apis/, visualization/``) inside ``sapiens2/``; braces
    expand (``configs/{pose,seg}/``)."""
    paths = []
    for line in block.splitlines():
        if not line.strip() or re.match(r'^\s{3,}', line):  # blank, or a continuation of the description column
            continue
        indented = line.startswith('  ')
        column = re.split(r'\s{2,}', line.strip(), maxsplit=1)[0]
        for token in re.split(r',\s*(?![^{]*\})', column):
            brace = re.fullmatch(r'(.*)\{(.*)\}(.*)', token)
            for name in ([brace.group(1) + n + brace.group(3) for n in brace.group(2).split(',')] if brace
                         else [token]):
                paths.append(osp.join('sapiens2', name).rstrip('/') if indented else name.rstrip('/'))
    return paths


def test_every_path_in_the_layout_exists():
    missing = [p for p in named_paths(layout_block()) if not osp.exists(osp.join(REPO_ROOT, p))]
    assert not missing, f'README Layout names paths that do not exist: {missing}'


def test_every_folder_is_in_the_layout():
    named = set(named_paths(layout_block()))
    folders = [f'sapiens2/{d}' for d in subfolders('sapiens2')]
    folders += [f'sapiens2/models/{d}' for d in subfolders('sapiens2/models')]
    folders += [f'configs/{d}' for d in subfolders('configs')]
    absent = [f for f in folders if f not in named and not any(n.startswith(f + '/') for n in named)]
    assert not absent, f'folders missing from the README Layout block: {absent}'
