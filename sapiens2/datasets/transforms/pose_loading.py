"""Image loading of the pose pipelines with an opt-in skip of unreadable images (training)."""
import warnings
from typing import Optional

from mmpose.datasets.transforms import LoadImage

from sapiens2.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadPoseImage(LoadImage):
    """mmpose's ``LoadImage``; an unreadable / missing image raises an error naming the file. With
    ``skip_unreadable=True`` (training only) it warns, counts the file in ``LoadPoseImage.num_skipped`` and returns
    None, so MMEngine's dataset draws another sample (up to the dataset's ``max_refetch`` times; test-mode datasets
    reject None).

    Required Keys:

        - img_path
        - img (optional: an array already loaded)

    Modified Keys:

        - img
        - img_shape
        - ori_shape
        - img_path (optional)

    Args:
        skip_unreadable (bool): return None (training) instead of raising for an unreadable image.
        other ``mmpose.datasets.transforms.LoadImage`` arguments (``to_float32``, ``color_type``, ...).
    """

    num_skipped = 0

    def __init__(self, skip_unreadable: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.skip_unreadable = skip_unreadable

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except Exception as e:  # mmcv raises FileNotFoundError / AssertionError / cv2 errors
            path = results.get('img_path')
            if not self.skip_unreadable:
                raise OSError(f'cannot read image {path}: {e}') from e
            type(self).num_skipped += 1
            warnings.warn(f'skipping unreadable image {path} ({type(self).num_skipped} skipped so far): {e}')
            return None
