"""Models of sapiens2. Importing this package registers every model type in ``sapiens2.registry.MODELS``."""
from .backbones import *  # noqa: F401,F403
from .estimators import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pretrain import *  # noqa: F401,F403
