"""Sapiens2 self-supervised pretraining model: MAE + [CLS] self-distillation (DINO) + KoLeo (docs/architecture.md §3.8)."""
import math
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel, ExponentialMovingAverage
from torch import nn
from torch.distributed.fsdp import FSDPModule

from sapiens2.registry import MODELS
from sapiens2.utils.checkpoint import load_pretrained
from .losses import (dino_cross_entropy, koleo_loss, mae_loss, normalize_patch_targets, patchify, teacher_probs,
                     target_entropies, update_center)
from .masking import BlockPatchMaskGenerator, split_visible


@MODELS.register_module()
class Sapiens2Pretrainer(BaseModel):
    """Student ``backbone`` (+ ``mae_decoder``, ``dino_head``) and an EMA ``teacher`` (backbone + head).

    Inputs are a list of views (``mmpretrain.SelfSupDataPreprocessor`` output): ``num_global_views`` tensors
    [B, 3, Hg, Wg] first, then local views [B, 3, Hl, Wl].

    * MAE: each global view is masked (``mask_cfg``; after the tokenizer for the 4K backbone); the encoder sees
      the 9 prefix tokens + visible tokens only (RoPE gathered per sample); the decoder reconstructs per-patch
      normalised pixels; MSE over masked patches, averaged over the global views.
    * CL: the teacher sees the global views unmasked; the student's [CLS] of every view (masked globals, unmasked
      locals) goes through ``dino_head``; :func:`dino_cross_entropy` over global<->other-global and
      global<->local pairs, teacher centred (``center_momentum``) and sharpened (temperature warm-up).
    * KoLeo on the student's pre-head [CLS] of each global view, averaged.

    The teacher starts as a copy of the student (:meth:`copy_student_to_teacher`) and follows it after every
    optimiser step (:meth:`update_teacher`), both called by :class:`sapiens2.engine.TeacherEMAHook` outside the
    forward, where FSDP's sharded parameters are in place; its momentum follows a cosine from
    ``teacher_momentum`` to ``teacher_momentum_final`` over ``max_iters``.
    MMEngine's EMA ``momentum`` is the weight of the new value, so it is set to ``1 - teacher_momentum``.
    Non-finite losses are skipped by the optim wrapper (``SkipNonFiniteOptimWrapper`` in the configs), so that it
    holds under DDP/FSDP too; the centre ignores a non-finite teacher batch.

    Continued pretraining: ``backbone_checkpoint`` (a released ``sapiens2_<size>_pretrain.safetensors``) is loaded
    strictly into the student backbone by :meth:`init_weights`; with :class:`sapiens2.engine.BackboneFreezeHook`
    the fresh heads warm up on it frozen (configs/pretrain/_base_/continue_pretrain.py).

    Returns (mode='loss'): ``dict(loss_mae, loss_cl, loss_koleo)``, each already multiplied by its
    ``loss_weights`` entry (defaults mae 1.0, cl 0.4, koleo 0.04), plus the collapse diagnostics
    ``teacher_entropy`` and ``teacher_batch_entropy`` of :func:`target_entropies` (logged, not summed: MMEngine
    adds only keys containing 'loss').
    """

    def __init__(self, backbone: dict, mae_decoder: dict, dino_head: dict, mask_cfg: Optional[dict] = None,
                 num_global_views: int = 2, loss_weights: Optional[dict] = None, student_temperature: float = 0.1,
                 teacher_temperature: float = 0.07, teacher_temperature_warmup: float = 0.065,
                 teacher_temperature_warmup_iters: int = 1000, teacher_momentum: float = 0.992,
                 teacher_momentum_final: Optional[float] = None, max_iters: int = 500000,
                 center_momentum: float = 0.9, data_preprocessor: Optional[dict] = None, init_cfg=None,
                 backbone_checkpoint: Optional[str] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone_checkpoint = backbone_checkpoint
        backbone = dict(backbone, out_type='raw')
        self.backbone = MODELS.build(backbone)
        C = self.backbone.embed_dims
        self.patch_size = self.backbone.input_divisor  # pixels per (tokenizer) token side
        self.mae_decoder = MODELS.build(dict(dict(type='MAEDecoder'), in_channels=C,
                                             out_channels=self.patch_size**2 * 3,
                                             num_prefix_tokens=self.backbone.num_prefix_tokens, **mae_decoder))
        self.dino_head = MODELS.build(dict(dict(type='DINOProjectionHead'), in_channels=C, **dino_head))
        self.teacher = ExponentialMovingAverage(
            nn.ModuleDict(dict(backbone=self.backbone, dino_head=self.dino_head)),
            momentum=0.5)  # placeholder (MMEngine asserts 0 < m < 1): update_teacher sets 1 - momentum(step)
        self.mask_generator = BlockPatchMaskGenerator(**(mask_cfg or {}))
        self.num_global_views = num_global_views
        self.loss_weights = dict(mae=1.0, cl=0.4, koleo=0.04)
        self.loss_weights.update(loss_weights or {})
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.teacher_temperature_warmup = teacher_temperature_warmup
        self.teacher_temperature_warmup_iters = teacher_temperature_warmup_iters
        self.teacher_momentum = teacher_momentum
        self.teacher_momentum_final = teacher_momentum if teacher_momentum_final is None else teacher_momentum_final
        self.max_iters = max_iters
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, self.dino_head.prototypes.out_features))
        self.register_buffer('num_steps', torch.zeros((), dtype=torch.long))  # training forwards so far

    def init_weights(self):
        """Initialise every part; then, with ``backbone_checkpoint`` (a released ``sapiens2_<size>_pretrain
        .safetensors``: backbone keys, no prefix), load it strictly into the student backbone
        (:class:`sapiens2.utils.checkpoint.CheckpointMismatchError` names the file and every missing, unexpected or
        mis-shaped key). The teacher becomes a copy of it at iteration 0 (:class:`sapiens2.engine.TeacherEMAHook`);
        the MAE decoder and DINO head stay freshly initialised (continued pretraining,
        configs/pretrain/_base_/continue_pretrain.py). A resumed run loads the file too, then the checkpoint."""
        super().init_weights()
        if self.backbone_checkpoint:
            load_pretrained(self.backbone, self.backbone_checkpoint, strict=True)

    # ------------------------------------------------------------------ schedules
    def current_teacher_temperature(self, step: int) -> float:
        """Linear warm-up ``warmup -> final`` over the first ``teacher_temperature_warmup_iters`` iterations."""
        n = self.teacher_temperature_warmup_iters
        if n <= 0 or step >= n:
            return self.teacher_temperature
        return self.teacher_temperature_warmup + (self.teacher_temperature - self.teacher_temperature_warmup) * step / n

    def current_teacher_momentum(self, step: int) -> float:
        """Cosine from ``teacher_momentum`` to ``teacher_momentum_final`` over ``max_iters``."""
        base, final = self.teacher_momentum, self.teacher_momentum_final
        return final - (final - base) * (math.cos(math.pi * min(step, self.max_iters) / self.max_iters) + 1) / 2

    def _teacher_and_student(self):
        """(teacher, student) parameter lists in matching order, as the optimiser sees them: FSDP2 leaves a unit
        unsharded after a forward without backward (a skipped step), and writes to its unsharded copies would be
        lost, so every FSDP unit is resharded first. The live parameters are walked, not the references
        ``ExponentialMovingAverage`` took at construction, which a strategy may have replaced."""
        for module in self.modules():
            if isinstance(module, FSDPModule):
                module.reshard()
        student = nn.ModuleDict(dict(backbone=self.backbone, dino_head=self.dino_head))
        return list(self.teacher.module.parameters()), list(student.parameters())

    @torch.no_grad()
    def copy_student_to_teacher(self):
        """teacher <- student: the start of a fresh run (weights loaded after construction reach the teacher)."""
        for t, s in zip(*self._teacher_and_student()):
            t.copy_(s)
        self.teacher.steps += 1

    @torch.no_grad()
    def update_teacher(self, step: int):
        """teacher <- m * teacher + (1 - m) * student with m = ``current_teacher_momentum(step)``; call it after the
        optimiser step of iteration ``step`` (:class:`sapiens2.engine.TeacherEMAHook` does), not inside a forward:
        under FSDP the forward sees unsharded copies of the parameters."""
        self.teacher.momentum = 1.0 - self.current_teacher_momentum(step)
        steps = int(self.teacher.steps)
        for t, s in zip(*self._teacher_and_student()):
            self.teacher.avg_func(t, s, steps)  # MMEngine's EMA step: t.lerp_(s, momentum = weight of the new value)
        self.teacher.steps += 1

    # ------------------------------------------------------------------ encoder passes
    @staticmethod
    def encode(backbone, images: torch.Tensor, ids_keep: Optional[torch.Tensor] = None):
        """images [B, 3, H, W] (+ visible token indices ids_keep [B, n_vis]) -> (tokens [B, prefix + n_vis, C]
        after the final norm, (h, w)): :meth:`Sapiens2.forward_features`. Masking happens after the patch embed /
        4K tokenizer (which then tokenizes the visible windows only)."""
        return backbone.forward_features(images, ids_keep)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Student [CLS] features [B, C] of unmasked images."""
        return self.encode(self.backbone, inputs)[0][:, 0]

    # ------------------------------------------------------------------ losses
    def loss(self, inputs: List[torch.Tensor], data_samples=None) -> Dict[str, torch.Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.num_global_views:
            raise ValueError(f'Sapiens2Pretrainer expects a list of >= {self.num_global_views} views '
                             f'({self.num_global_views} global first), got {type(inputs).__name__}')
        step = int(self.num_steps)
        if self.training:
            if int(self.teacher.steps) == 0:
                raise RuntimeError('Sapiens2Pretrainer: the teacher was never set from the student. Train with '
                                   "custom_hooks=[dict(type='TeacherEMAHook')] (configs/pretrain/_base_/pretrain.py "
                                   'has it), or call copy_student_to_teacher() and, after each optimiser step, '
                                   'update_teacher(iteration) yourself')
            self.num_steps += 1
        globals_, locals_ = inputs[:self.num_global_views], inputs[self.num_global_views:]

        # teacher: unmasked global views, no gradients
        with torch.no_grad():
            teacher = self.teacher.module
            t_logits = [teacher['dino_head'](self.encode(teacher['backbone'], g)[0][:, 0]) for g in globals_]
            temp = self.current_teacher_temperature(step)
            t_probs = [teacher_probs(t, self.center, temp) for t in t_logits]

        # student: masked global views (MAE + CLS), unmasked local views (CLS)
        mae_terms, koleo_terms, s_cls = [], [], []
        for g in globals_:
            B = g.shape[0]
            self.backbone.check_input(g)
            h, w = g.shape[-2] // self.patch_size, g.shape[-1] // self.patch_size  # token grid (after tokenizer)
            mask = self.mask_generator(B, h, w, device=g.device)
            ids_keep, _ = split_visible(mask)
            x, hw = self.encode(self.backbone, g, ids_keep)
            pred = self.mae_decoder(x, ids_keep, hw)
            target = normalize_patch_targets(patchify(g.float(), self.patch_size))
            mae_terms.append(mae_loss(pred, target, mask))
            s_cls.append(x[:, 0])
            if B > 1:
                koleo_terms.append(koleo_loss(x[:, 0]))
        for v in locals_:
            s_cls.append(self.encode(self.backbone, v)[0][:, 0])
        s_logits = [self.dino_head(c) for c in s_cls]
        loss_cl = dino_cross_entropy(s_logits, t_probs, self.student_temperature)
        if self.training:
            update_center(self.center, torch.cat(t_logits), self.center_momentum)

        loss_mae = torch.stack(mae_terms).mean()
        loss_koleo = torch.stack(koleo_terms).mean() if koleo_terms else loss_mae.new_zeros(())
        w = self.loss_weights
        return dict(loss_mae=w['mae'] * loss_mae, loss_cl=w['cl'] * loss_cl, loss_koleo=w['koleo'] * loss_koleo,
                    **target_entropies(torch.cat(t_probs)))

    def predict(self, inputs, data_samples=None):
        raise NotImplementedError('Sapiens2Pretrainer has no predict mode; export the backbone with '
                                  'tools/convert/pretrain_to_backbone.py and probe it')

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            if isinstance(inputs, (list, tuple)):
                return [self.extract_feat(v) for v in inputs]
            return self.extract_feat(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
