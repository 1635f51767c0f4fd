"""sapiens2: Sapiens2 human-centric vision transformers on MMEngine."""
from .version import __version__

__all__ = ['__version__']
