from .backbone_freeze_hook import BackboneFreezeHook
from .safe_checkpoint_hook import NonFiniteWeightsError, SafeCheckpointHook
from .teacher_ema_hook import TeacherEMAHook

__all__ = ['BackboneFreezeHook', 'NonFiniteWeightsError', 'SafeCheckpointHook', 'TeacherEMAHook']
