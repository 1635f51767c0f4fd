"""Drives the EMA teacher of self-distillation pretraining from the training loop."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sapiens2.registry import HOOKS


@HOOKS.register_module()
class TeacherEMAHook(Hook):
    """Keeps a model's EMA teacher following its student (e.g. :class:`sapiens2.models.Sapiens2Pretrainer`).

    * ``before_train``: a fresh run (iteration 0) copies the student into the teacher, after ``load_from`` and
      ``init_weights``; a resumed run keeps the checkpoint's teacher.
    * ``after_train_iter``: ``model.update_teacher(iteration)`` after the optimiser step.

    Both run outside the forward, where FSDP's sharded fp32 parameters are in place (inside the forward a unit
    holds unsharded copies and writes to them are lost). The priority runs it before the ``CheckpointHook``, so a
    checkpoint holds the teacher of its own iteration.
    """

    priority = 'NORMAL'

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name in ('copy_student_to_teacher', 'update_teacher'):
            if not callable(getattr(model, name, None)):
                raise TypeError(f'TeacherEMAHook: {type(model).__name__} has no {name}() (use it with a '
                                'self-distillation model such as Sapiens2Pretrainer)')
        return model

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            self._model(runner).copy_student_to_teacher()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._model(runner).update_teacher(runner.iter)
