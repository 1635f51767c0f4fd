"""The token paths of Sapiens2 itself: masked encoding (``forward(x, ids_keep)``, ``forward_features``) and attention
maps (``get_attention_maps``) against the plain forward and against the attention the forward really computes."""
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from conftest import TINY_ARCH, TINY_GQA_ARCH
from sapiens2.models.backbones import Sapiens2


def build(arch=TINY_ARCH, **kwargs):
    torch.manual_seed(0)
    model = Sapiens2(arch=dict(arch), pos_embed_rope_dtype='fp32', **kwargs).eval()
    model.init_weights()
    return model


def test_forward_features_is_the_last_raw_output():
    bb = build(out_type='raw')
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        tokens, hw = bb.forward_features(x)
        assert hw == (4, 3)
        torch.testing.assert_close(tokens, bb(x)[-1], rtol=0, atol=0)


def test_masked_forward_equals_forward_features_and_a_per_sample_reference():
    bb = build(arch=TINY_GQA_ARCH, out_type='raw', out_indices=(0, -1))
    x = torch.randn(2, 3, 64, 48)
    ids_keep = torch.tensor([[1, 4, 6, 10], [0, 2, 5, 9]])
    with torch.no_grad():
        first, last = bb(x, ids_keep)
        feats, hw = bb.forward_features(x, ids_keep)
        assert first.shape == last.shape == (2, 9 + 4, 32) and hw == (4, 3)
        torch.testing.assert_close(last, feats, rtol=0, atol=0)
        tokens, _ = bb.embed_patches(x)
        sin, cos = bb.rope_embed(H=4, W=3)
        for b in range(2):
            keep = ids_keep[b]
            y = bb.prepend_prefix_tokens(tokens[b:b + 1, keep])
            for i, block in enumerate(bb.blocks):
                y = block(y, (sin[keep], cos[keep]))
                if i == 0:
                    torch.testing.assert_close(first[b:b + 1], y)
            torch.testing.assert_close(last[b:b + 1], bb.ln1(y))
        cls = Sapiens2(arch=dict(TINY_GQA_ARCH), pos_embed_rope_dtype='fp32', out_type='cls_token').eval()
        cls.load_state_dict(bb.state_dict())
        torch.testing.assert_close(cls(x, ids_keep)[0], feats[:, 0])


def test_masked_featmap_is_refused():
    bb = build(out_type='featmap')
    with pytest.raises(ValueError, match='featmap'):
        bb(torch.randn(1, 3, 64, 48), torch.tensor([[0, 1]]))


@pytest.mark.parametrize('arch', [TINY_ARCH, TINY_GQA_ARCH])
def test_attention_maps_are_the_forward_attention(arch):
    """The weights equal softmax(q·kᵀ·scale) of the q, k that the forward hands to scaled_dot_product_attention
    (GQA blocks included), for every block, all queries or a subset."""
    bb = build(arch=arch, out_type='raw')
    x = torch.randn(2, 3, 64, 48)
    captured = []
    sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, scale=None, **kw):
        captured.append(torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1))
        return sdpa(q, k, v, scale=scale, **kw)

    with mock.patch('sapiens2.models.layers.attention.F.scaled_dot_product_attention', spy), torch.no_grad():
        bb(x)
    L = bb.num_layers
    with torch.no_grad():
        maps = bb.get_attention_maps(x, block_indices=list(range(L)))
        cls_last = bb.get_attention_maps(x, query_indices=[0])
        some = bb.get_attention_maps(x, block_indices=(1, 0), query_indices=[0, 5])
    assert len(maps) == L and maps[0].shape == (2, bb.num_heads, 21, 21) and maps[0].dtype == torch.float32
    for i in range(L):
        torch.testing.assert_close(maps[i], captured[i], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(cls_last[0], captured[-1][:, :, :1], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(some[0], captured[1][:, :, [0, 5]], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(some[1], captured[0][:, :, [0, 5]], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(2, bb.num_heads, 21))
    with pytest.raises(ValueError, match='out of range'):
        bb.get_attention_maps(x, block_indices=L)


def test_masked_attention_maps_follow_the_kept_tokens():
    bb = build(out_type='raw')
    x = torch.randn(1, 3, 64, 48)
    ids_keep = torch.tensor([[0, 3, 7]])
    with torch.no_grad():
        maps = bb.get_attention_maps(x, block_indices=-1, ids_keep=ids_keep)[0]
    assert maps.shape == (1, bb.num_heads, 9 + 3, 9 + 3)
