"""Tiny task models for the deployment tests (random weights, CPU): a 2-block backbone whose second block uses
grouped-query attention (as the middle blocks of the released sizes), the tiny configs' heads and test pipelines."""
import warnings

import torch

TINY_BACKBONE = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64,
                               num_tokenizer_layers=1),
                     layer_cfgs=[dict(), dict(num_kv_heads=2)])
CONFIGS = dict(pose='configs/pose/sapiens2_tiny_308kpt_coco_wholebody_sample.py',
               seg='configs/seg/sapiens2_tiny_seg29_synthetic.py',
               normal='configs/geometry/sapiens2_tiny_normal_synthetic.py',
               pointmap='configs/geometry/sapiens2_tiny_pointmap_synthetic.py',
               albedo='configs/geometry/sapiens2_tiny_albedo_synthetic.py')
TASKS = ('backbone', ) + tuple(CONFIGS)


def quiet():
    warnings.filterwarnings('ignore', category=FutureWarning)
    warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
    warnings.filterwarnings('ignore', category=UserWarning)


def tiny_model(task: str, seed: int = 0):
    """An eval-mode tiny model of ``task`` ('backbone' = a bare Sapiens2 with the 4K tokenizer, 256×128 input)."""
    from sapiens2.models.backbones import Sapiens2
    torch.manual_seed(seed)
    if task == 'backbone':
        model = Sapiens2(**TINY_BACKBONE, use_tokenizer=True, out_type='featmap', img_size=(256, 128))
        model.init_weights()
        return model.eval()
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')
    from sapiens2.utils.package_files import load_config
    cfg = load_config(CONFIGS[task])
    cfg.model.backbone.update(TINY_BACKBONE)
    cfg.model.decode_head.in_channels = 32
    if task == 'pose':
        from sapiens2.apis import init_pose_model
        model = init_pose_model(cfg, None)
    else:
        from sapiens2.apis import init_dense_model
        model = init_dense_model(cfg, None)
    model.init_weights()
    return model.eval()
