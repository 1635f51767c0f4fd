from . import checkpoint_loader  # noqa: F401  (local .pth / .safetensors loader for load_from / resume)
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import *  # noqa: F401,F403
from .runner import Sapiens2FlexibleRunner, Sapiens2Runner  # noqa: F401
from .strategies import *  # noqa: F401,F403
