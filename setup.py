"""Install the sapiens2 package (``pip install -e .``; ``make install`` does the whole environment).

A regular (non-editable) install also ships the configs: ``build_py`` copies ``configs/`` into
``sapiens2/.mim/configs`` (the place mmpose and mmpretrain use), so ``sapiens2.get_config('pose/sapiens2_1b_308kpt')``
and the datasets' metainfo work from any directory. An editable install reads ``configs/`` of the checkout instead.
"""
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    ns = {}
    with open(osp.join(HERE, 'sapiens2', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def read_requirements(name):
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


class BuildPyWithConfigs(build_py):
    """``build_py`` that adds ``configs/`` to the built package as ``sapiens2/.mim/configs`` (not for editable
    installs, which read the checkout's ``configs/``)."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        dst = osp.join(self.build_lib, 'sapiens2', '.mim', 'configs')
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(osp.join(HERE, 'configs'), dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='sapiens2',
    version=read_version(),
    description='Sapiens2 human-centric vision transformers: backbones, pretraining and post-training on MMEngine',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=('sapiens2', 'sapiens2.*')),
    package_data={'sapiens2': ['metainfo/*.json']},
    cmdclass={'build_py': BuildPyWithConfigs},
    python_requires='>=3.10',
    # mmpose (installed with --no-deps, see Makefile) and xtcocotools (built from source) are not listed here.
    install_requires=read_requirements('torch.txt') + read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
