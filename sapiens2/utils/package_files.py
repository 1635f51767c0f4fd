"""Files that ship with the package: the configs tree and the metadata JSON, found the same way from a checkout
(editable install) and from a regular ``pip install``.

* Configs: a regular install copies ``configs/`` into ``sapiens2/.mim/configs`` (see ``setup.py``), as mmpose and
  mmpretrain do; an editable install or a checkout on ``sys.path`` reads ``configs/`` beside the package.
* Metadata: ``sapiens2/metainfo/*.json`` (keypoints308, seg29, released_state_dict_layouts) is package data.
"""
import copy
import os.path as osp
from typing import Union

from mmengine.config import Config

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
METAINFO_DIR = osp.join(PACKAGE_DIR, 'metainfo')
_CONFIG_ROOTS = (osp.join(PACKAGE_DIR, '.mim', 'configs'), osp.join(osp.dirname(PACKAGE_DIR), 'configs'))


def config_root() -> str:
    """The folder holding ``_base_/``, ``pose/``, ``seg/``, ... of the installed package or of the checkout."""
    for root in _CONFIG_ROOTS:
        if osp.isdir(osp.join(root, '_base_')):
            return root
    raise FileNotFoundError(f'sapiens2 configs not found: looked in {" and ".join(_CONFIG_ROOTS)}; reinstall the '
                            f'package (pip install .) or run from a checkout')


def metainfo_file(name: str) -> str:
    """Path of a bundled metadata file: ``metainfo_file('keypoints308')`` -> ``.../sapiens2/metainfo/keypoints308.json``."""
    path = osp.join(METAINFO_DIR, name if name.endswith('.json') else f'{name}.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such metadata file in the sapiens2 package')
    return path


def dataset_metainfo_config(name: str) -> str:
    """The generated metainfo config ``_base_/datasets/<name>.py`` (mmpose's ``from_file`` format)."""
    return osp.join(config_root(), '_base_', 'datasets', f'{name}.py')


def get_config_path(name: str) -> str:
    """A config by name, relative to the configs root, with or without ``.py``:
    ``get_config_path('pose/sapiens2_1b_308kpt')``. An existing file path is returned as it is."""
    if osp.isfile(name):
        return osp.abspath(name)
    rel = name[len('configs/'):] if name.startswith('configs/') else name
    path = osp.join(config_root(), rel if rel.endswith('.py') else f'{rel}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {name!r}: neither a file nor a bundled config ({path} does not exist)')
    return path


def get_config(name: str) -> Config:
    """The bundled config ``name`` (see :func:`get_config_path`) as an MMEngine ``Config``."""
    return Config.fromfile(get_config_path(name))


def load_config(config: Union[str, Config]) -> Config:
    """A ``Config`` (returned as a deep copy), a config file path or a bundled config name -> ``Config``."""
    if isinstance(config, Config):
        return copy.deepcopy(config)
    return get_config(config)
