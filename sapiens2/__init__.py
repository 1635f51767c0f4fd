"""sapiens2: Sapiens2 human-centric vision transformers on MMEngine."""
from .version import __version__


def get_config(name: str):
    """A bundled config by name, e.g. ``sapiens2.get_config('pose/sapiens2_1b_308kpt')`` -> ``mmengine.Config``
    (works from a checkout and from an installed package; see :mod:`sapiens2.utils.package_files`)."""
    from .utils.package_files import get_config as _get_config
    return _get_config(name)


__all__ = ['__version__', 'get_config']
