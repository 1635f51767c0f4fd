"""Pretraining losses against hand computations."""
import math

import numpy as np
import pytest
import torch

from sapiens2.models.pretrain import (dino_cross_entropy, koleo_loss, mae_loss, normalize_patch_targets, patchify,
                                      target_entropies, teacher_probs, update_center)


def test_dino_uniform_logits_give_log_k():
    K, B = 37, 5
    student = [torch.zeros(B, K) for _ in range(6)]  # 2 global + 4 local views
    t = [teacher_probs(torch.zeros(B, K), torch.zeros(1, K), 0.07) for _ in range(2)]
    assert torch.allclose(t[0], torch.full((B, K), 1 / K))
    loss = dino_cross_entropy(student, t, student_temperature=0.1)
    assert loss.item() == pytest.approx(math.log(K), rel=1e-6)


def test_dino_cross_entropy_pairs_by_hand():
    """Teacher global i pairs with every student view j != i; local<->local never; mean over the 2·(2+2)-2 pairs."""
    g = torch.Generator().manual_seed(0)
    K, B, Ts, Tt = 7, 3, 0.1, 0.05
    s = [torch.randn(B, K, generator=g) for _ in range(4)]  # 2 global + 2 local
    t_logits = [torch.randn(B, K, generator=g) for _ in range(2)]
    center = torch.randn(1, K, generator=g)
    t = [teacher_probs(x, center, Tt) for x in t_logits]
    got = dino_cross_entropy(s, t, Ts).item()

    def softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    terms = []
    for i in range(2):
        p = softmax((t_logits[i].numpy() - center.numpy()) / Tt)
        for j in range(4):
            if i != j:
                terms.append(np.mean(np.sum(-p * np.log(softmax(s[j].numpy() / Ts)), -1)))
    assert len(terms) == 6
    assert got == pytest.approx(float(np.mean(terms)), rel=1e-5)


def test_center_update():
    center = torch.tensor([[1.0, -2.0, 0.5]])
    logits = torch.tensor([[3.0, 0.0, 1.0], [1.0, 2.0, -1.0]])
    update_center(center, logits, momentum=0.9)
    expected = 0.9 * np.array([1.0, -2.0, 0.5]) + 0.1 * np.array([2.0, 1.0, 0.0])
    np.testing.assert_allclose(center.numpy()[0], expected, rtol=1e-6)
    update_center(center, torch.tensor([[float('nan'), 0.0, 1.0]]), momentum=0.9)  # a non-finite batch is ignored
    np.testing.assert_allclose(center.numpy()[0], expected, rtol=1e-6)


@pytest.mark.parametrize('probs, entropy, batch_entropy', [
    (torch.full((4, 8), 1 / 8), math.log(8), math.log(8)),  # collapsed to uniform
    (torch.eye(8)[[3, 3, 3, 3]], 0.0, 0.0),  # collapsed to one prototype
    (torch.eye(8)[[0, 1, 2, 3]], 0.0, math.log(4)),  # one confident, distinct target per image
    (torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]]), math.log(2), -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))),
])
def test_target_entropies_by_hand(probs, entropy, batch_entropy):
    got = target_entropies(probs)
    assert got['teacher_entropy'].item() == pytest.approx(entropy, abs=1e-6)
    assert got['teacher_batch_entropy'].item() == pytest.approx(batch_entropy, abs=1e-6)


def test_koleo_known_points():
    # four unit vectors: e0, e1 and two at 60 degrees / 90 degrees -> nearest-neighbour distances by hand
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, math.sqrt(3) / 2]]) * 3.0  # scale is removed
    # nn distances: e0 <-> p3 (60 deg) = 1; e1 <-> p3 (30 deg) = 2 sin(15 deg); -e0 <-> e1 = sqrt(2); p3 <-> e1
    d = np.array([1.0, 2 * math.sin(math.radians(15)), math.sqrt(2), 2 * math.sin(math.radians(15))])
    assert koleo_loss(x).item() == pytest.approx(float(-np.log(d + 1e-8).mean()), rel=1e-5)


def test_koleo_needs_two_samples():
    with pytest.raises(ValueError, match='at least 2'):
        koleo_loss(torch.randn(1, 4))


def test_patchify_and_targets_against_numpy():
    img = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    p = patchify(img, 2)  # [2, 2*3, 12]
    a = img.numpy()
    ref = np.stack([a[:, :, r * 2:r * 2 + 2, c * 2:c * 2 + 2].transpose(0, 2, 3, 1).reshape(2, -1)
                    for r in range(2) for c in range(3)], axis=1)
    np.testing.assert_array_equal(p.numpy(), ref)
    t = normalize_patch_targets(p).numpy()
    np.testing.assert_allclose(t, (ref - ref.mean(-1, keepdims=True)) / np.sqrt(ref.var(-1, keepdims=True) + 1e-6),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='not divisible'):
        patchify(img, 5)


def test_mae_loss_only_masked_patches():
    pred = torch.zeros(1, 4, 2)
    target = torch.tensor([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, True, False]])
    assert mae_loss(pred, target, mask).item() == pytest.approx((1 + 4 + 9) / 3)
