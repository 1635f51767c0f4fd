from .dense_formatting import PackDenseInputs, PackSegInputs, canonical_pointmap
from .dense_geometric import DenseRandomAffine, DenseRandomFlip, LetterboxResize, letterbox_inverse, letterbox_params
from .dense_loading import LoadDenseAnnotations
from .multi_view_transforms import ColorJitterNp2, adjust_hue
from .pose_loading import LoadPoseImage

__all__ = [
    'PackDenseInputs', 'PackSegInputs', 'canonical_pointmap', 'DenseRandomAffine', 'DenseRandomFlip',
    'LetterboxResize', 'letterbox_inverse', 'letterbox_params', 'LoadDenseAnnotations', 'ColorJitterNp2', 'adjust_hue',
    'LoadPoseImage'
]
