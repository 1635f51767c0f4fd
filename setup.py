"""Install the sapiens2 package (``pip install -e .``; ``make install`` does the whole environment)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    ns = {}
    with open(osp.join(osp.dirname(__file__), 'sapiens2', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [l.split('#')[0].strip() for l in f if l.split('#')[0].strip()]


setup(
    name='sapiens2',
    version=read_version(),
    description='Sapiens2 human-centric vision transformers: backbones, pretraining and post-training on MMEngine',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    python_requires='>=3.10',
    # mmpose (installed with --no-deps, see Makefile) and xtcocotools (built from source) are not listed here.
    install_requires=read_requirements('torch.txt') + read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
