from .autocast_optim_wrapper import AutocastOptimWrapper
from .frozen_summary_constructor import FrozenSummaryOptimWrapperConstructor
from .skip_non_finite_optim_wrapper import NonFiniteTrainingError, SkipNonFiniteOptimWrapper

__all__ = ['AutocastOptimWrapper', 'FrozenSummaryOptimWrapperConstructor', 'NonFiniteTrainingError',
           'SkipNonFiniteOptimWrapper']
