from .inference import inference_data, inference_tensor  # noqa: F401
from .dense_inference import dense_task, inference_dense, init_dense_model  # noqa: F401
from .pose_inference import inference_pose, init_pose_model, pose_crops  # noqa: F401
from .feature_analysis import (cls_attention_maps, extract_features, init_backbone, knn_retrieval,  # noqa: F401
                               pca_rgb)
