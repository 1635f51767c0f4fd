"""Loading of matting targets: alpha matte, optional foreground colour and trimap."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from sapiens2.registry import TRANSFORMS
from .dense_loading import add_dense_field

_INT_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def read_unit_image(path: str, what: str) -> np.ndarray:
    """An 8- or 16-bit image file -> float32 in [0, 1] (channels as stored, BGR for colour). Errors name the file."""
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise OSError(f'cannot read {what} file {path}')
    if arr.dtype not in _INT_SCALE:
        raise ValueError(f'{what} {path} must be an 8- or 16-bit image, got {arr.dtype}')
    return arr.astype(np.float32) / _INT_SCALE[arr.dtype]


def read_alpha(path: str) -> np.ndarray:
    """Alpha matte file -> H×W float32 in [0, 1]; a colour file is accepted when its colour channels are equal (and,
    with 4 channels, its A channel is opaque: a matte stored in the A channel is refused, not read as the RGB)."""
    alpha = read_unit_image(path, 'alpha matte')
    if alpha.ndim == 3:
        if alpha.shape[2] not in (3, 4) or not all(np.array_equal(alpha[..., 0], alpha[..., c]) for c in (1, 2)):
            raise ValueError(f'alpha matte {path} must be single-channel (or grey), got shape {alpha.shape}')
        if alpha.shape[2] == 4 and not (alpha[..., 3] == 1).all():
            raise ValueError(f'alpha matte {path} has a non-opaque A channel: store the matte as a single-channel '
                             'image (the loader reads grey values, not the A channel)')
        alpha = alpha[..., 0]
    return np.ascontiguousarray(alpha)


@TRANSFORMS.register_module()
class LoadMattingAnnotations(BaseTransform):
    """Adds ``gt_alpha`` (H×W float32 in [0, 1], 8- or 16-bit files) and, when the sample has one,
    ``gt_foreground`` (H×W×3 float32 RGB in [0, 1], not pre-multiplied); both are dense fields (the dense geometric
    transforms resize them bilinearly, padding 0 = background). With ``with_trimap`` (test pipelines: the trimap is
    not a dense field and must keep the original size) also ``gt_trimap`` (H×W uint8). Shapes must equal the
    image's (an error names the files otherwise)."""

    def __init__(self, with_trimap: bool = False):
        self.with_trimap = with_trimap

    @staticmethod
    def _check_shape(results: dict, what: str, arr: np.ndarray, path: str) -> None:
        ref = tuple(results.get('ori_shape') or results['img'].shape[:2])[:2]
        if tuple(arr.shape[:2]) != ref:
            raise ValueError(f'sample {results.get("img_path")}: {what} {path} has shape {arr.shape[:2]}, '
                             f'the image has {ref}')

    def transform(self, results: dict) -> dict:
        path = results.get('alpha_path')
        if not path:
            raise KeyError(f'sample {results.get("img_path")}: no alpha_path (use MattingDataset)')
        alpha = read_alpha(path)
        self._check_shape(results, 'alpha', alpha, path)
        results['gt_alpha'] = alpha
        add_dense_field(results, 'gt_alpha')
        fg_path = results.get('foreground_path')
        if fg_path:
            fg = read_unit_image(fg_path, 'foreground')
            if fg.ndim != 3 or fg.shape[2] not in (3, 4):
                raise ValueError(f'foreground {fg_path} must be a colour image, got shape {fg.shape}')
            fg = cv2.cvtColor(np.ascontiguousarray(fg[..., :3]), cv2.COLOR_BGR2RGB)
            self._check_shape(results, 'foreground', fg, fg_path)
            results['gt_foreground'] = fg
            add_dense_field(results, 'gt_foreground')
        trimap_path = results.get('trimap_path')
        if self.with_trimap and trimap_path:
            trimap = cv2.imread(trimap_path, cv2.IMREAD_GRAYSCALE)
            if trimap is None:
                raise OSError(f'cannot read trimap file {trimap_path}')
            self._check_shape(results, 'trimap', trimap, trimap_path)
            results['gt_trimap'] = trimap
        return results

    def __repr__(self):
        return f'{type(self).__name__}(with_trimap={self.with_trimap})'
