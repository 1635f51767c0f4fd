"""Sapiens2Pretrainer: masked encoder, teacher EMA, temperature/momentum schedules, non-finite skip."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from sapiens2.engine import SkipNonFiniteOptimWrapper, TeacherEMAHook
from sapiens2.models.pretrain import Sapiens2Pretrainer, split_visible

from conftest import REPO_ROOT

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, num_tokenizer_layers=1)


def build(use_tokenizer=False, **kwargs):
    torch.manual_seed(0)
    model = Sapiens2Pretrainer(
        backbone=dict(type='Sapiens2', arch=TINY, use_tokenizer=use_tokenizer, pos_embed_rope_dtype='fp32'),
        mae_decoder=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        dino_head=dict(num_prototypes=16, hidden_channels=32, bottleneck_channels=8), **kwargs)
    model.backbone.init_weights()
    return model


def views(B=3, local=2):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(B, 3, 64, 48, generator=g) for _ in range(2)] + \
        [torch.randn(B, 3, 32, 32, generator=g) for _ in range(local)]


def test_unmasked_encode_matches_backbone_forward():
    model = build().eval()
    x = torch.randn(2, 3, 64, 48)
    tokens, hw = Sapiens2Pretrainer.encode(model.backbone, x)
    assert hw == (4, 3)
    torch.testing.assert_close(tokens, model.backbone(x)[0])


def test_masked_encode_matches_reference_with_gathered_tokens():
    """The masked pass equals a hand-written pass over the gathered tokens with per-sample gathered RoPE."""
    model = build().eval()
    bb = model.backbone
    x = torch.randn(2, 3, 64, 48)
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[0, [0, 2, 3, 5, 7, 8, 9, 11, 1]] = True
    mask[1, [1, 2, 4, 6, 7, 8, 10, 11, 3]] = True
    ids_keep, _ = split_visible(mask)
    assert ids_keep.tolist() == [[4, 6, 10], [0, 5, 9]]
    got, _ = Sapiens2Pretrainer.encode(bb, x, ids_keep)
    assert got.shape == (2, 9 + 3, 32)
    tokens, _ = bb.embed_patches(x)
    sin, cos = bb.rope_embed(H=4, W=3)
    for b in range(2):  # one sample at a time, shared (unbatched) RoPE of its visible positions
        keep = ids_keep[b]
        y = bb.prepend_prefix_tokens(tokens[b:b + 1, keep])
        for i in range(bb.num_layers):
            y = bb.blocks[i](y, (sin[keep], cos[keep]))
        torch.testing.assert_close(got[b:b + 1], bb.ln1(y))


def test_4k_masked_tokenizer_equals_masking_after_the_full_tokenizer():
    """Only the visible windows are tokenized; the result equals tokenizing every window and gathering (docs/architecture.md §1.5)."""
    model = build(use_tokenizer=True).eval()
    bb = model.backbone
    bb.tokenizer.chunk_size = 5  # several chunks, split differently in the two passes
    x = torch.randn(2, 3, 256, 192)  # 4×3 tokenizer grid
    ids_keep = split_visible(model.mask_generator(2, 4, 3))[0]
    full, hw = bb.embed_patches(x)
    kept, hw_kept = bb.embed_patches(x, ids_keep)
    assert hw == hw_kept == (4, 3) and kept.shape == (2, ids_keep.shape[1], 32)
    torch.testing.assert_close(kept, torch.gather(full, 1, ids_keep[..., None].expand(-1, -1, 32)))
    calls = []
    bb.tokenizer.blocks[0].register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    bb.embed_patches(x, ids_keep)
    assert sum(calls) == 2 * ids_keep.shape[1]  # windows through the tokenizer: the visible ones only


def test_4k_masking_after_tokenizer():
    model = build(use_tokenizer=True).train()
    model.copy_student_to_teacher()
    x = [torch.randn(2, 3, 128, 128) for _ in range(2)]
    losses = model.loss(x)
    assert set(losses) == {'loss_mae', 'loss_cl', 'loss_koleo', 'teacher_entropy', 'teacher_batch_entropy'}
    assert model.mae_decoder.pred.out_features == 64 * 64 * 3  # one 64×64-pixel region per tokenizer token
    tokens, hw = Sapiens2Pretrainer.encode(model.backbone, x[0], split_visible(model.mask_generator(2, 2, 2))[0])
    assert hw == (2, 2) and tokens.shape[1] == 9 + 1  # 75% of the 2×2 tokenizer grid masked


def test_teacher_momentum_one_leaves_teacher_unchanged():
    model = build(teacher_momentum=1.0).train()
    model.copy_student_to_teacher()
    before = {k: v.clone() for k, v in model.teacher.module.state_dict().items()}
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    model.update_teacher(1)
    for k, v in model.teacher.module.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_teacher_ema_update_by_hand():
    model = build(teacher_momentum=0.992).train()
    model.copy_student_to_teacher()
    t0 = model.teacher.module['backbone'].cls_token.clone()
    with torch.no_grad():
        model.backbone.cls_token.add_(1.0)
    model.update_teacher(1)
    s = model.backbone.cls_token
    torch.testing.assert_close(model.teacher.module['backbone'].cls_token, 0.992 * t0 + 0.008 * s)
    assert model.teacher.momentum == pytest.approx(0.008)  # MMEngine: weight of the new value


def test_training_forward_needs_the_teacher_set():
    model = build().train()
    with pytest.raises(RuntimeError, match='TeacherEMAHook'):
        model.loss(views(B=2, local=0))


@pytest.mark.parametrize('start_iter', [0, 7])
def test_teacher_ema_hook(start_iter):
    """A fresh run copies the student into the (differently initialised) teacher, a resumed one keeps it; after
    every iteration the teacher takes an EMA step with that iteration's momentum."""
    model = build(teacher_momentum=0.9).train()
    with torch.no_grad():
        model.teacher.module['backbone'].cls_token.normal_()
    teacher0 = model.teacher.module['backbone'].cls_token.clone()
    student = model.backbone.cls_token.detach().clone()
    runner = SimpleNamespace(model=model, iter=start_iter)
    hook = TeacherEMAHook()
    hook.before_train(runner)
    start = student if start_iter == 0 else teacher0
    torch.testing.assert_close(model.teacher.module['backbone'].cls_token, start, rtol=0, atol=0)
    with torch.no_grad():
        model.backbone.cls_token.add_(1.0)
    hook.after_train_iter(runner, 0)
    torch.testing.assert_close(model.teacher.module['backbone'].cls_token, 0.9 * start + 0.1 * (student + 1.0))
    with pytest.raises(TypeError, match='Linear has no copy_student_to_teacher'):
        hook.after_train_iter(SimpleNamespace(model=torch.nn.Linear(1, 1), iter=0), 0)


def test_schedules():
    model = build(teacher_momentum=0.992, teacher_momentum_final=1.0, max_iters=100)
    assert model.current_teacher_temperature(0) == pytest.approx(0.065)
    assert model.current_teacher_temperature(500) == pytest.approx(0.0675)
    assert model.current_teacher_temperature(5000) == pytest.approx(0.07)
    assert model.current_teacher_momentum(0) == pytest.approx(0.992)
    assert model.current_teacher_momentum(50) == pytest.approx(0.996)
    assert model.current_teacher_momentum(100) == pytest.approx(1.0)


def test_loss_backward_and_teacher_gets_no_grad():
    model = build().train()
    model.copy_student_to_teacher()
    losses = model.loss(views())
    sum(losses.values()).backward()
    assert model.backbone.cls_token.grad is not None and model.mae_decoder.mask_token.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert model.center.abs().sum() > 0  # centre moved
    assert int(model.num_steps) == 1


def test_non_finite_loss_skips_the_step():
    """MMEngine's train_step with the configs' SkipNonFiniteOptimWrapper: a NaN loss leaves the weights and the
    centre alone, the next finite loss steps."""
    model = build().train()
    model.copy_student_to_teacher()
    optim = SkipNonFiniteOptimWrapper(
        optimizer=torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1))
    before = model.backbone.cls_token.detach().clone()
    data = dict(inputs=views(B=2, local=1), data_samples=None)
    model.loss_weights['mae'] = float('nan')
    log_vars = model.train_step(data, optim)
    assert torch.isnan(log_vars['loss']) and optim.skipped_steps == 1
    assert torch.equal(model.backbone.cls_token, before)
    model.loss_weights['mae'] = 1.0
    model.train_step(data, optim)
    assert optim.skipped_steps == 1 and not torch.equal(model.backbone.cls_token, before)


def test_pretrain_configs_skip_non_finite_losses():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pretrain', 'sapiens2_1b_pretrain.py'))
    assert cfg.optim_wrapper.type == 'SkipNonFiniteOptimWrapper'
