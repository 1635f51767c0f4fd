"""Inference APIs. The names below are imported on first use (PEP 562), so that the demos can import their option
helpers (``sapiens2.apis.demo_options``, ``sapiens2.apis.detection.add_detector_args``) and parse their arguments
before torch and MMEngine are loaded."""
import importlib

_EXPORTS = {
    'inference': ('init_model', 'build_test_pipeline', 'dataset_meta_from_config', 'select_device', 'inference_data',
                  'inference_tensor', 'accelerate_model'),
    'dense_inference': ('dense_task', 'inference_dense', 'init_dense_model'),
    'pose_inference': ('inference_pose', 'init_pose_model', 'pose_crops'),
    'feature_analysis': ('cls_attention_maps', 'extract_features', 'init_backbone', 'knn_retrieval', 'pca_rgb'),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{_MODULE_OF[name]}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
