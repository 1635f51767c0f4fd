"""Small, physically consistent synthetic samples for the four dense tasks (tests, tiny configs, quickstart).

One scene per sample: a pinhole camera (fx = fy, OpenCV axes x right, y down, z forward) looks at an ellipsoid
"person" in front of a back plane. From the same ray–surface intersections come the metric depth (Z), the
pointmap, the analytic surface normals (camera frame, facing the camera) and the person mask; body parts are
assigned by position on the ellipsoid (seg29 ids, left/right as seen by the person); the albedo is a per-part
colour with a smooth texture, the shading is Lambertian with an ambient term, and image = albedo × shading.

Written folder formats (see the dataset classes): ``seg/{images,masks}``, ``normal/{rgb,normal,mask}``,
``pointmap/{rgb,depth,mask,camera_intrinsics}``, ``albedo/{rgb,albedo,mask}``, ``matting/{images,alphas,foregrounds}``.

Matting samples (:func:`make_synthetic_matting_sample`) are composites instead: a person-like silhouette (head, torso,
arms, legs) with an anti-aliased, blurred edge as alpha α, a textured foreground colour F, a random smooth
background B, and image = α·F + (1 − α)·B.
"""
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np
from tqdm import tqdm

# seg29 ids used by the generator
BACKGROUND, FACE_NECK, LEFT_UPPER_ARM, LEFT_UPPER_LEG, LOWER_CLOTHING = 0, 3, 11, 12, 13
RIGHT_UPPER_ARM, RIGHT_UPPER_LEG, TORSO = 20, 21, 22
PLANE_DEPTH = 4.0


def make_synthetic_sample(height: int = 128, width: int = 96, seed: int = 0) -> Dict[str, np.ndarray]:
    """-> dict(image uint8 H×W×3 RGB, seg uint8 H×W, mask uint8 H×W (1 = person), depth float32 H×W (metric Z),
    normal float32 H×W×3 (unit), albedo float32 H×W×3 in [0, 1], shading float32 H×W, K float64 3×3)."""
    rng = np.random.default_rng(seed)
    f = width * rng.uniform(1.1, 1.5)
    K = np.array([[f, 0, width / 2 + rng.uniform(-2, 2)], [0, f, height / 2 + rng.uniform(-2, 2)], [0, 0, 1.0]])
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)  # rays with d_z = 1

    center = np.array([rng.uniform(-0.15, 0.15), rng.uniform(-0.1, 0.1), rng.uniform(2.3, 2.8)])
    radii = np.array([rng.uniform(0.35, 0.5), rng.uniform(0.75, 0.95), rng.uniform(0.25, 0.35)])
    # |(t d - c) / r|^2 = 1  ->  a t^2 + b t + c0 = 0
    dr, cr = d / radii, center / radii
    a = (dr ** 2).sum(-1)
    b = -2 * (dr * cr).sum(-1)
    c0 = (cr ** 2).sum() - 1
    disc = b ** 2 - 4 * a * c0
    mask = disc > 0
    t = np.where(mask, (-b - np.sqrt(np.clip(disc, 0, None))) / (2 * a), PLANE_DEPTH)
    depth = t  # d_z = 1, so the ray parameter is Z
    points = d * depth[..., None]
    grad = (points - center) / radii ** 2
    normal = np.where(mask[..., None], grad / np.linalg.norm(grad, axis=-1, keepdims=True), [0.0, 0.0, -1.0])

    # body parts from the position on the ellipsoid (the person faces the camera: their left is image right)
    rel = (points - center) / radii
    seg = np.full((height, width), BACKGROUND, np.uint8)
    seg[mask] = TORSO
    seg[mask & (rel[..., 0] > 0.45)] = LEFT_UPPER_ARM
    seg[mask & (rel[..., 0] < -0.45)] = RIGHT_UPPER_ARM
    lower = mask & (rel[..., 1] > 0.35)
    seg[lower] = LOWER_CLOTHING
    seg[lower & (rel[..., 1] > 0.6) & (rel[..., 0] > 0.05)] = LEFT_UPPER_LEG
    seg[lower & (rel[..., 1] > 0.6) & (rel[..., 0] < -0.05)] = RIGHT_UPPER_LEG
    seg[mask & (rel[..., 1] < -0.6)] = FACE_NECK

    part_colour = {k: rng.uniform(0.2, 0.9, 3) for k in (BACKGROUND, FACE_NECK, LEFT_UPPER_ARM, LEFT_UPPER_LEG,
                                                           LOWER_CLOTHING, RIGHT_UPPER_ARM, RIGHT_UPPER_LEG, TORSO)}
    albedo = np.zeros((height, width, 3))
    for k, colour in part_colour.items():
        albedo[seg == k] = colour
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 3)
    albedo = np.clip(albedo * (1 + 0.15 * texture / (np.abs(texture).max() + 1e-6))[..., None], 0, 1)

    light = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.8, -0.2), -1.0])  # towards the light, camera side
    light /= np.linalg.norm(light)
    shading = 0.25 + 0.75 * np.clip((normal * light).sum(-1), 0, None)
    image = np.clip(np.round(albedo * shading[..., None] * 255), 0, 255).astype(np.uint8)
    return dict(image=image, seg=seg, mask=mask.astype(np.uint8), depth=depth.astype(np.float32),
                normal=normal.astype(np.float32), albedo=albedo.astype(np.float32),
                shading=shading.astype(np.float32), K=K)


def make_synthetic_matting_sample(height: int = 128, width: int = 96, seed: int = 0) -> Dict[str, np.ndarray]:
    """-> dict(image uint8 H×W×3 RGB, alpha float32 H×W in [0, 1] (soft edge, 0 and 1 away from it), foreground
    float32 H×W×3 RGB in [0, 1] (defined everywhere, not pre-multiplied), background float32 H×W×3)."""
    rng = np.random.default_rng(seed)
    up = 4  # drawn at 4× and area-averaged down: an anti-aliased edge
    canvas = np.zeros((height * up, width * up), np.uint8)
    cx, cy = width * up * rng.uniform(0.42, 0.58), height * up * rng.uniform(0.45, 0.55)
    s = min(width, height / 1.6) * up * rng.uniform(0.8, 1.0)
    parts = [((0, -0.62), (0.13, 0.15), 0), ((0, -0.15), (0.24, 0.36), 0),  # head, torso: (centre, axes, angle)
             ((-0.27, -0.12), (0.07, 0.3), -rng.uniform(5, 30)), ((0.27, -0.12), (0.07, 0.3), rng.uniform(5, 30)),
             ((-0.1, 0.45), (0.08, 0.32), -rng.uniform(0, 8)), ((0.1, 0.45), (0.08, 0.32), rng.uniform(0, 8))]
    for (dx, dy), (ax, ay), angle in parts:
        cv2.ellipse(canvas, (int(cx + dx * s), int(cy + dy * s)), (max(1, int(ax * s)), max(1, int(ay * s))), angle,
                    0, 360, 255, -1)
    alpha = cv2.resize(canvas.astype(np.float32) / 255, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.6, 1.5))
    alpha = np.where(alpha < 0.01, 0, np.where(alpha > 0.99, 1, alpha)).astype(np.float32)

    def smooth_field(base, amplitude, blur):
        noise = cv2.GaussianBlur(rng.normal(0, 1, (height, width, 3)).astype(np.float32), (0, 0), blur)
        return np.clip(base + amplitude * noise / (np.abs(noise).max() + 1e-6), 0, 1)

    v = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(0.2, 0.9, 3), rng.uniform(0.2, 0.9, 3)  # clothes: a vertical colour change
    foreground = smooth_field(top * (1 - v) + bottom * v, 0.15, 2)
    background = smooth_field(rng.uniform(0, 1, 3) + np.zeros((height, width, 3)), 0.4, 8)
    image = alpha[..., None] * foreground + (1 - alpha[..., None]) * background
    return dict(image=np.clip(np.round(image * 255), 0, 255).astype(np.uint8), alpha=alpha,
                foreground=foreground.astype(np.float32), background=background.astype(np.float32))


def _write_matting_sample(d: str, name: str, sample: Dict[str, np.ndarray]) -> None:
    cv2.imwrite(osp.join(d, 'images', name + '.png'), cv2.cvtColor(sample['image'], cv2.COLOR_RGB2BGR))
    cv2.imwrite(osp.join(d, 'alphas', name + '.png'), np.round(sample['alpha'] * 255).astype(np.uint8))
    fg = np.round(sample['foreground'] * 255).astype(np.uint8)
    cv2.imwrite(osp.join(d, 'foregrounds', name + '.png'), cv2.cvtColor(fg, cv2.COLOR_RGB2BGR))


def write_synthetic_dataset(root: str, num_samples: int = 8, height: int = 128, width: int = 96, seed: int = 0,
                            tasks: Sequence[str] = ('seg', 'normal', 'pointmap', 'albedo')) -> Dict[str, str]:
    """Write ``num_samples`` samples per task under ``root/<task>/`` in the documented folder formats.
    Returns {task: data_root}."""
    layout = dict(seg=('images', ), normal=('rgb', 'normal', 'mask'),
                  pointmap=('rgb', 'depth', 'mask', 'camera_intrinsics'), albedo=('rgb', 'albedo', 'mask'),
                  matting=('images', 'alphas', 'foregrounds'))
    for task in tasks:
        if task not in layout:
            raise ValueError(f'unknown task {task!r}; choose from {sorted(layout)}')
        for sub in layout[task] + (('masks', ) if task == 'seg' else ()):
            os.makedirs(osp.join(root, task, sub), exist_ok=True)
    for i in tqdm(range(num_samples), desc='synthetic dense samples', disable=num_samples < 50):
        s = make_synthetic_sample(height, width, seed * 100003 + i)
        name = f'{i:05d}'
        bgr = cv2.cvtColor(s['image'], cv2.COLOR_RGB2BGR)
        mask_png = s['mask'] * 255
        for task in tasks:
            d = osp.join(root, task)
            if task == 'matting':
                _write_matting_sample(d, name, make_synthetic_matting_sample(height, width, seed * 100003 + i))
                continue
            if task == 'seg':
                cv2.imwrite(osp.join(d, 'images', name + '.png'), bgr)
                cv2.imwrite(osp.join(d, 'masks', name + '.png'), s['seg'])
                continue
            cv2.imwrite(osp.join(d, 'rgb', name + '.png'), bgr)
            cv2.imwrite(osp.join(d, 'mask', name + '.png'), mask_png)
            if task == 'normal':
                np.save(osp.join(d, 'normal', name + '.npy'), s['normal'])
            elif task == 'pointmap':
                np.save(osp.join(d, 'depth', name + '.npy'), s['depth'])
                np.savetxt(osp.join(d, 'camera_intrinsics', name + '.txt'), s['K'])
            else:
                albedo_bgr = cv2.cvtColor(np.round(s['albedo'] * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
                cv2.imwrite(osp.join(d, 'albedo', name + '.png'), albedo_bgr)
    return {task: osp.join(root, task) for task in tasks}
