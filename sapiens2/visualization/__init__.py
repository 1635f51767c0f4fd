from .dense_visualization import (albedo_side_by_side, depth_to_colormap, normal_to_bgr,  # noqa: F401
                                  save_point_cloud_ply, seg_overlay)
from .pose_visualization import draw_pose  # noqa: F401
