from sapiens2.registry import TRANSFORMS
from .dense_formatting import PackDenseInputs, PackSegInputs, canonical_pointmap
from .dense_geometric import (AutoInterpResize, DenseRandomAffine, DenseRandomFlip, LetterboxResize,
                              letterbox_params)
from .dense_loading import LoadDenseAnnotations
from .matting_formatting import PackMattingInputs
from .matting_loading import LoadMattingAnnotations
from .pose_affine import AutoInterpTopdownAffine, auto_interpolation
from .pose_loading import LoadPoseImage

__all__ = [
    'PackDenseInputs', 'PackSegInputs', 'canonical_pointmap', 'AutoInterpResize', 'DenseRandomAffine',
    'DenseRandomFlip', 'LetterboxResize', 'letterbox_params', 'LoadDenseAnnotations', 'LoadMattingAnnotations',
    'PackMattingInputs',
    'AutoInterpTopdownAffine', 'auto_interpolation', 'LoadPoseImage'
]  # + ColorJitterNp2, adjust_hue (lazy, below; not in __all__ so that `import *` does not load them)

# The pretraining transforms (multi_view_transforms.py) subclass mmpretrain's: they are imported on first use, so that
# inference and the task pipelines do not import the pretraining stack. Building ``type='ColorJitterNp2'`` goes
# through this stand-in, which imports the module (it then registers the real class in place of the stand-in).
_LAZY = {'ColorJitterNp2': 'multi_view_transforms', 'adjust_hue': 'multi_view_transforms'}


def _build_color_jitter_np2(**kwargs):
    from .multi_view_transforms import ColorJitterNp2
    return ColorJitterNp2(**kwargs)


if 'ColorJitterNp2' not in TRANSFORMS.module_dict:
    TRANSFORMS.register_module(name='ColorJitterNp2', module=_build_color_jitter_np2)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
