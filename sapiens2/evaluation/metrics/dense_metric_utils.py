"""Helpers shared by the dense metrics: fetching prediction / target / mask arrays from data-sample dicts."""
import numpy as np
import torch


def to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def fetch_dense(sample: dict, task: str):
    """-> (pred [C, H, W], gt [C, H, W], valid bool [H, W]); valid = mask > 0 and a finite target.
    Errors name the sample when a field is missing or the shapes disagree."""
    name = sample.get('img_path', sample.get('sample_name', '?'))
    for key in (f'pred_{task}', f'gt_{task}'):
        if key not in sample:
            raise KeyError(f'{task} metric: data sample {name} has no {key!r}')
    pred = to_numpy(sample[f'pred_{task}']['data'])
    gt = to_numpy(sample[f'gt_{task}']['data'])
    if pred.shape != gt.shape:
        raise ValueError(f'{task} metric: sample {name} prediction {pred.shape} and target {gt.shape} differ')
    valid = np.isfinite(gt).all(0)
    if 'gt_mask' in sample:
        mask = to_numpy(sample['gt_mask']['data'])[0]
        if mask.shape != valid.shape:
            raise ValueError(f'{task} metric: sample {name} mask {mask.shape} and target {gt.shape} differ')
        valid &= mask > 0
    return pred, np.where(np.isfinite(gt), gt, 0), valid
