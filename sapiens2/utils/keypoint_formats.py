"""Keypoint output formats of the pose demo (``--format``) and the keypoint sets it draws (``--kpt-set``).

Formats (:func:`to_format`): ``goliath308`` (the model's own 308 keypoints), ``coco17``, ``coco_wholebody133`` and
``openpose18`` (through :func:`sapiens2.utils.keypoint_converters.convert_keypoints308`; a keypoint with no 308
counterpart has score 0 at (0, 0)). Names per format: :func:`format_keypoint_names`.

Sets (:func:`keypoint_set_ids`): ``all`` (308), ``coco_wholebody`` (the 53 keypoints COCO-WholeBody supervises),
``coco17``, or a comma list of the 308 metadata's groups (``body,foot,left_hand,right_hand,face,extra``).
:func:`supervised_keypoint_set` picks the set a config's training data supervises.

A model trained on another keypoint set (COCO-17, COCO-WholeBody-133, a custom metainfo) writes and draws its own
keypoints with the names of its metadata: :func:`keypoint_output` decides for both kinds of model.
"""
import json
import os.path as osp
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple

import numpy as np

from .keypoint_converters import coco_wholebody133_to_keypoints308, convert_keypoints308
from .package_files import metainfo_file

KEYPOINT_FORMATS = ('goliath308', 'coco17', 'coco_wholebody133', 'openpose18')
OPENPOSE18_NAMES = ('nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow',
                    'left_wrist', 'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle',
                    'right_eye', 'left_eye', 'right_ear', 'left_ear')


@lru_cache()
def _meta308() -> dict:
    with open(metainfo_file('keypoints308')) as f:
        return json.load(f)


@lru_cache()
def _mmpose_names(dataset: str) -> Tuple[str, ...]:
    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets', f'{dataset}.py')
    meta = parse_pose_metainfo(dict(from_file=path))
    return tuple(meta['keypoint_id2name'][i] for i in range(meta['num_keypoints']))


def format_keypoint_names(fmt: str) -> List[str]:
    """Keypoint names of ``fmt``, in output order."""
    check_format(fmt)
    if fmt == 'goliath308':
        return [k['name'] for k in _meta308()['keypoints']]
    if fmt == 'openpose18':
        return list(OPENPOSE18_NAMES)
    return list(_mmpose_names('coco' if fmt == 'coco17' else 'coco_wholebody'))


def check_format(fmt: str):
    if fmt not in KEYPOINT_FORMATS:
        raise ValueError(f'--format {fmt!r}: choose one of {", ".join(KEYPOINT_FORMATS)}')


def to_format(keypoints: np.ndarray, scores: np.ndarray, fmt: str) -> Tuple[np.ndarray, np.ndarray]:
    """keypoints [..., 308, 2], scores [..., 308] -> ([..., M, 2], [..., M]) in ``fmt``."""
    check_format(fmt)
    if fmt == 'goliath308':
        return np.asarray(keypoints), np.asarray(scores)
    return convert_keypoints308(keypoints, scores, fmt)


def keypoint_set_ids(name: str) -> np.ndarray:
    """308-keypoint ids of a set (see the module docstring), sorted."""
    meta = _meta308()
    if name == 'all':
        return np.arange(meta['num_keypoints'])
    if name == 'coco_wholebody':
        return np.array(sorted(coco_wholebody133_to_keypoints308().values()))
    if name == 'coco17':
        m = coco_wholebody133_to_keypoints308()
        return np.array(sorted(m[i] for i in range(17)))
    ids = set()
    for group in name.split(','):
        if group not in meta['groups']:
            raise ValueError(f'--kpt-set {name!r}: unknown group {group!r}; use all, coco_wholebody, coco17 or a comma '
                             f'list of {", ".join(meta["groups"])}')
        ids.update(meta['groups'][group])
    return np.array(sorted(ids))


def supervised_keypoint_set(cfg) -> str:
    """'coco_wholebody' when the config trains on ``CocoWholeBody308Dataset`` (53 of the 308 keypoints have labels),
    else 'all'."""
    try:
        dtype = str(cfg.train_dataloader.dataset.type)
    except (AttributeError, KeyError):
        return 'all'
    return 'coco_wholebody' if dtype.split('.')[-1] == 'CocoWholeBody308Dataset' else 'all'


@dataclass
class KeypointOutput:
    """What the pose demo writes and draws for one model: ``ids`` (drawn keypoints, model layout), ``names`` (of the
    written keypoints), ``fmt`` (the JSON's ``format``) and whether the 308 keypoints are converted to ``fmt``."""
    ids: np.ndarray
    names: List[str]
    fmt: str
    convert: bool

    def __call__(self, keypoints: np.ndarray, scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """keypoints [..., K, 2], scores [..., K] of the model -> the written ones."""
        return to_format(keypoints, scores, self.fmt) if self.convert else (np.asarray(keypoints), np.asarray(scores))


def keypoint_output(meta: dict, fmt: str = 'goliath308', kpt_set: Optional[str] = None, cfg=None) -> KeypointOutput:
    """The output of a pose model with dataset metadata ``meta`` (``num_keypoints``, ``keypoint_id2name``).

    308 keypoints: ``fmt`` converts (:func:`to_format`), ``kpt_set`` (default: the set ``cfg`` supervises) picks the
    drawn ones. Any other keypoint set: the model's own keypoints and names; ``fmt`` may only name that same set
    (e.g. ``coco17`` for a COCO-17 model) and ``kpt_set`` only ``all``, both being defined on the 308 layout."""
    check_format(fmt)
    num = int(meta['num_keypoints'])
    if num == _meta308()['num_keypoints']:
        kpt_set = kpt_set or (supervised_keypoint_set(cfg) if cfg is not None else 'all')
        return KeypointOutput(keypoint_set_ids(kpt_set), format_keypoint_names(fmt), fmt, convert=True)
    names = [meta['keypoint_id2name'][i] for i in range(num)]
    label = meta.get('dataset_name') or f'{num} keypoints'
    if kpt_set not in (None, 'all'):
        raise ValueError(f'--kpt-set {kpt_set!r} is defined on the 308-keypoint layout; this model predicts {num} '
                         f'keypoints ({label}): use --kpt-set all')
    if fmt != 'goliath308':
        if format_keypoint_names(fmt) != names:
            raise ValueError(f'--format {fmt!r} converts the 308-keypoint layout; this model predicts {num} keypoints '
                             f'({label}) and writes them as they are (leave --format at its default)')
        label = fmt
    return KeypointOutput(np.arange(num), names, label, convert=False)
