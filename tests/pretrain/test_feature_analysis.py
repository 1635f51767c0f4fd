"""Probing helpers (attention maps, k-NN, PCA) against direct references, and the four tools end to end."""
import glob
import json
import os.path as osp
import runpy
import sys
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import COCO_WHOLEBODY_SAMPLE, REPO_ROOT, TINY_ARCH
from sapiens2.apis.feature_analysis import cls_attention_maps, extract_features, knn_retrieval, parse_arch, pca_rgb
from sapiens2.models.backbones import Sapiens2


def test_cls_attention_matches_the_forward_pass():
    """Capture q, k inside the real forward's scaled_dot_product_attention and compare the [CLS] row."""
    torch.manual_seed(0)
    bb = Sapiens2(arch=dict(TINY_ARCH, num_heads=4, embed_dims=64), out_type='raw').eval()
    bb.init_weights()
    x = torch.randn(2, 3, 64, 48)
    captured = []
    sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, scale=None, **kw):
        captured.append((q, k, scale))
        return sdpa(q, k, v, scale=scale, **kw)
    with mock.patch('sapiens2.models.layers.attention.F.scaled_dot_product_attention', spy), torch.no_grad():
        bb(x)
    q, k, scale = captured[-1]
    ref = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)[:, :, 0, 9:].reshape(2, 4, 4, 3)
    got = cls_attention_maps(bb, x)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)
    assert got.shape == (2, 4, 4, 3)
    feats = extract_features(bb, x)
    assert feats['cls'].shape == (2, 64) and feats['patches'].shape == (2, 4, 3, 64)


def test_knn_against_brute_force():
    g = torch.Generator().manual_seed(0)
    gallery, queries = torch.randn(20, 8, generator=g), torch.randn(4, 8, generator=g)
    sims, idx = knn_retrieval(queries, gallery, k=3)
    a = queries.numpy() / np.linalg.norm(queries.numpy(), axis=1, keepdims=True)
    b = gallery.numpy() / np.linalg.norm(gallery.numpy(), axis=1, keepdims=True)
    ref = a @ b.T
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-ref, axis=1)[:, :3])
    np.testing.assert_allclose(sims.numpy(), np.sort(ref, axis=1)[:, ::-1][:, :3], rtol=1e-5)
    _, idx = knn_retrieval(gallery, gallery, k=2, exclude_self=True)
    assert not (idx == torch.arange(20)[:, None]).any()


def test_pca_finds_planted_foreground():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 8, 6, 16, generator=g) * 0.05
    fg = torch.zeros(2, 8, 6, dtype=torch.bool)
    fg[:, 2:6, 1:4] = True
    feats[fg] += 5.0 * torch.nn.functional.one_hot(torch.tensor(0), 16).float()  # a strong foreground offset
    feats[fg] += torch.randn(int(fg.sum()), 16, generator=g)  # structure inside the foreground
    rgb, found = pca_rgb(feats)
    assert np.array_equal(found, fg.numpy())
    assert rgb.shape == (2, 8, 6, 3) and (rgb[~fg.numpy()] == 0).all()
    assert rgb[fg.numpy()].min() >= 0 and rgb[fg.numpy()].max() <= 1 and rgb[fg.numpy()].std() > 0.1


def test_tools_write_pictures(tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for p in sorted(glob.glob(osp.join(COCO_WHOLEBODY_SAMPLE, "*.jpg")))[:3]:
        img = cv2.imread(p)
        cv2.imwrite(str(images / osp.basename(p)), cv2.resize(img, (96, 128)))
    common = ['--arch', 'sapiens2_0.1b', '--size', '64', '48', '--device', 'cpu']
    tools = osp.join(REPO_ROOT, 'tools', 'analysis')
    sys.path.insert(0, tools)
    try:
        for script, args in [('extract_features.py', [str(images), str(tmp_path / 'f.npz'), '--patches']),
                             ('knn_retrieval.py', [str(images), str(tmp_path / 'knn'), '--k', '2']),
                             ('attention_maps.py', [str(images), str(tmp_path / 'attn')]),
                             ('pca_features.py', [str(images), str(tmp_path / 'pca'), '--no-fg-filter'])]:
            torch.manual_seed(0)
            with mock.patch.object(sys, 'argv', [script] + args + common):
                runpy.run_path(osp.join(tools, script), run_name='__main__')
    finally:
        sys.path.remove(tools)
    feats = np.load(tmp_path / 'f.npz')
    assert feats['cls'].shape == (3, 768) and feats['patches'].shape == (3, 4, 3, 768)
    for sub, suffix in [('knn', ''), ('attn', '_attn'), ('pca', '_pca')]:
        pngs = sorted((tmp_path / sub).glob('*.png'))
        assert len(pngs) == 3, sub
        assert cv2.imread(str(pngs[0])) is not None
    attn = cv2.imread(str(sorted((tmp_path / 'attn').glob('*.png'))[0]))
    assert attn.shape == (2 * 64, 8 * 48, 3)  # image + 12 heads in rows of 8


def test_arch_from_name_json_or_config():
    tiny = dict(TINY_ARCH)
    assert parse_arch('sapiens2_0.4b') == 'sapiens2_0.4b'
    assert parse_arch(json.dumps(tiny)) == tiny
    for config in ('configs/_base_/models/sapiens2_tiny.py', 'configs/pretrain/sapiens2_tiny_pretrain_cpu.py'):
        assert parse_arch(osp.join(REPO_ROOT, config)) == tiny, config
    with pytest.raises(KeyError, match='neither model.backbone.arch nor backbone.arch'):
        parse_arch(osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'))


def test_attention_maps_of_a_config_arch_without_empty_columns(tmp_path):
    """--arch given as a config; with 2 heads the grid is image + 2 heads, not padded to 8 columns."""
    images = tmp_path / 'images'
    images.mkdir()
    path = sorted(glob.glob(osp.join(COCO_WHOLEBODY_SAMPLE, '*.jpg')))[0]
    cv2.imwrite(str(images / 'a.jpg'), cv2.resize(cv2.imread(path), (48, 64)))
    tools = osp.join(REPO_ROOT, 'tools', 'analysis')
    args = [str(images), str(tmp_path / 'attn'), '--arch',
            osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_tiny_pretrain_cpu.py'), '--size', '64', '48',
            '--device', 'cpu']
    sys.path.insert(0, tools)
    try:
        with mock.patch.object(sys, 'argv', ['attention_maps.py'] + args):
            runpy.run_path(osp.join(tools, 'attention_maps.py'), run_name='__main__')
    finally:
        sys.path.remove(tools)
    assert cv2.imread(str(tmp_path / 'attn' / 'a_attn.png')).shape == (64, 3 * 48, 3)
