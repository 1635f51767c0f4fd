"""Checkpoints from the Hugging Face Hub: ``hf://owner/name[@revision][/file]`` or a bare ``owner/name``.

Every checkpoint argument of the package (``load_from``, ``init_cfg=dict(type='Pretrained', checkpoint=...)``,
``tools/test.py CONFIG CKPT``, the demos, :func:`sapiens2.utils.checkpoint.read_state_dict`) goes through
:func:`resolve_checkpoint`, which turns a Hub id into a local file with ``huggingface_hub`` and its cache:

* ``hf://facebook/sapiens2-pose-1b`` / ``facebook/sapiens2-pose-1b``: the repo's weights file (``model.safetensors``,
  else its only ``*.safetensors`` file; a ``model.safetensors.index.json`` brings its shards; pickled ``.pth`` /
  ``.bin`` files are refused);
* ``hf://facebook/sapiens2-pose-1b@<branch|tag|commit>``: a revision;
* ``hf://owner/name/path/in/repo.safetensors``: one file of the repo.

A bare ``owner/name`` is an id only when no such local path exists and it does not end like a checkpoint file
(``.pth``, ``.safetensors``, ...); write ``./owner/name`` for a local folder of that name. A local folder laid out
like a Hub repo (``config.json`` and the weights) is accepted wherever a checkpoint file is.

Downloads use ``huggingface_hub``'s cache (``HF_HUB_CACHE`` / ``HF_HOME``, read when the download happens) and honour
``HF_HUB_OFFLINE=1``: offline, a cached repo loads as usual and one that is not cached raises
:class:`HubCheckpointError` naming the repo and what to do.

:func:`config_for_checkpoint` picks the project config of a Hub checkpoint when the user gives none: the
``sapiens2_config.json`` written by ``tools/convert/to_hf.py`` (the exact config of a model fine-tuned here, read as
data: no code runs), else the bundled config matching the repo's transformers ``config.json``
(:func:`config_name_from_hf_config`: architecture -> task, hidden size / depth / heads -> size).
"""
import json
import os
import os.path as osp
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional

HF_SCHEME = 'hf://'
HF_CONFIG_FILE = 'config.json'  # transformers' config
SAPIENS2_CONFIG_FILE = 'sapiens2_config.json'  # our MMEngine config as JSON (tools/convert/to_hf.py)
PREPROCESSOR_CONFIG_FILE = 'preprocessor_config.json'
WEIGHTS_FILE = 'model.safetensors'
WEIGHTS_INDEX_FILE = 'model.safetensors.index.json'
METADATA_FILES = (HF_CONFIG_FILE, SAPIENS2_CONFIG_FILE)
# A bare ``owner/name`` ending like this is a (missing) local file, never a repo id.
CHECKPOINT_SUFFIXES = ('.safetensors', '.pth', '.pt', '.bin', '.ckpt', '.json', '.py')
_BARE_ID = re.compile(r'^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$')

# transformers' Sapiens2 classes -> task; task -> bundled config (``{size}`` from :data:`Sapiens2.arch_zoo`).
HF_ARCHITECTURE_TASKS = {
    'Sapiens2Model': 'pretrain',
    'Sapiens2Backbone': 'pretrain',
    'Sapiens2ForPoseEstimation': 'pose',
    'Sapiens2ForSemanticSegmentation': 'seg',
    'Sapiens2ForNormalEstimation': 'normal',
    'Sapiens2ForPointmapEstimation': 'pointmap',
    'Sapiens2ForImageMatting': 'matting',
}
TASK_CONFIGS = {
    'pretrain': '_base_/models/sapiens2_{size}',
    'pose': 'pose/sapiens2_{size}_308kpt',
    'seg': 'seg/sapiens2_{size}_seg29',
    'normal': 'geometry/sapiens2_{size}_normal',
    'pointmap': 'geometry/sapiens2_{size}_pointmap',
    'matting': 'matting/sapiens2_{size}_matting',
}


class HubCheckpointError(FileNotFoundError):
    """A Hub checkpoint that cannot be had: not cached while offline, unreachable, no such repo / revision / file."""


@dataclass(frozen=True)
class HubRef:
    """A model repo on the Hub, optionally a revision and a file in it."""
    repo_id: str
    revision: Optional[str] = None
    filename: Optional[str] = None

    def __str__(self):
        return (HF_SCHEME + self.repo_id + (f'@{self.revision}' if self.revision else '') +
                (f'/{self.filename}' if self.filename else ''))


def parse_hub_ref(path) -> Optional[HubRef]:
    """``hf://owner/name[@revision][/file]`` -> :class:`HubRef` (a malformed one raises ``ValueError``); a bare
    ``owner/name[@revision]`` that is not an existing path and does not end like a checkpoint file -> :class:`HubRef`;
    anything else (local paths, URLs) -> None."""
    if not isinstance(path, str):
        return None
    if path.startswith(HF_SCHEME):
        uri = path
    elif (_BARE_ID.match(path) and not osp.exists(path) and '..' not in path
          and not path.split('@')[0].lower().endswith(CHECKPOINT_SUFFIXES)):
        uri = HF_SCHEME + path
    else:
        return None
    from huggingface_hub import parse_hf_uri
    from huggingface_hub.errors import HfUriError
    try:
        parsed = parse_hf_uri(uri)
    except HfUriError as err:
        if path.startswith(HF_SCHEME):
            raise ValueError(f'{path}: not a Hub checkpoint id; expected hf://owner/name[@revision][/file] '
                             f'({err})') from err
        return None  # a bare string that is no valid repo id: leave it to the local-path handling
    if parsed.type != 'model':
        raise ValueError(f'{path}: a {parsed.type} repo; checkpoints come from model repos (hf://owner/name)')
    return HubRef(parsed.id, parsed.revision, parsed.path_in_repo or None)


def is_hub_checkpoint(path) -> bool:
    """True for a Hub id (see :func:`parse_hub_ref`) or a local folder laid out like a Hub repo."""
    return parse_hub_ref(path) is not None or is_repo_folder(path)


def is_repo_folder(path) -> bool:
    """A local folder laid out like a Hub repo: ``config.json`` or ``model.safetensors`` in it (an FSDP checkpoint
    folder, with its ``.metadata``, is not one)."""
    return (isinstance(path, str) and osp.isdir(path) and not osp.isfile(osp.join(path, '.metadata')) and
            any(osp.isfile(osp.join(path, f)) for f in (HF_CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE)))


def hub_settings() -> tuple:
    """(offline, cache_dir) as ``huggingface_hub`` would use them, read from the environment now (so a test or a
    notebook may set ``HF_HUB_OFFLINE`` / ``HF_HUB_CACHE`` after importing ``huggingface_hub``)."""
    from huggingface_hub import constants
    flag = os.environ.get('HF_HUB_OFFLINE', os.environ.get('TRANSFORMERS_OFFLINE'))
    offline = constants.HF_HUB_OFFLINE if flag is None else flag.strip().upper() in ('1', 'ON', 'YES', 'TRUE')
    cache_dir = os.environ.get('HF_HUB_CACHE') or (osp.join(os.environ['HF_HOME'], 'hub') if os.environ.get('HF_HOME')
                                                   else constants.HF_HUB_CACHE)
    return offline, osp.expanduser(cache_dir)


def _hub_error(ref: HubRef, err: Exception, what: str) -> HubCheckpointError:
    from huggingface_hub.errors import (EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)
    offline, cache_dir = hub_settings()
    repo = HF_SCHEME + ref.repo_id
    if isinstance(err, RepositoryNotFoundError):
        msg = (f'{repo}: no such model repo on the Hugging Face Hub, or it is private or gated (log in with '
               f'`hf auth login` and accept its licence on the Hub page). A local path that looks like owner/name '
               f'is written ./owner/name.')
    elif isinstance(err, RevisionNotFoundError):
        msg = f'{repo}: the repo has no revision {ref.revision!r} (a branch, tag or commit).'
    elif isinstance(err, LocalEntryNotFoundError) and offline:
        msg = (f'{ref}: {what} is not in the Hugging Face cache ({cache_dir}) and HF_HUB_OFFLINE is set, so it '
               f'cannot be downloaded. Download it once with network access (`hf download {ref.repo_id}`, or run '
               f'without HF_HUB_OFFLINE), point HF_HUB_CACHE to a cache that holds it, or pass a local checkpoint '
               f'path instead of the id.')
    elif isinstance(err, LocalEntryNotFoundError):
        msg = (f'{ref}: could not download {what} from the Hugging Face Hub and it is not in the cache '
               f'({cache_dir}); check the network (HF_ENDPOINT, proxy) or pass a local checkpoint path. '
               f'{type(err).__name__}: {err}')
    elif isinstance(err, EntryNotFoundError):
        msg = f'{ref}: the repo has no file {what}.'
    else:
        msg = f'{ref}: {what}: {type(err).__name__}: {err}'
    return HubCheckpointError(msg)


def _hub_errors():
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError
    return (EntryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError)


def hub_download(ref: HubRef, filename: str) -> str:
    """Local path of ``filename`` of the repo (downloaded into the cache unless cached; cache only when offline)."""
    from huggingface_hub import hf_hub_download
    offline, cache_dir = hub_settings()
    try:
        return hf_hub_download(ref.repo_id, filename, revision=ref.revision, cache_dir=cache_dir,
                               local_files_only=offline)
    except _hub_errors() as err:
        raise _hub_error(ref, err, filename) from err


def hub_repo_files(ref: HubRef) -> List[str]:
    """The repo's files: listed by the Hub when online and reachable, else those of the cached snapshot."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)
    offline, cache_dir = hub_settings()
    network_error = None
    if not offline:
        try:
            return list(HfApi().list_repo_files(ref.repo_id, revision=ref.revision))
        except (RepositoryNotFoundError, RevisionNotFoundError) as err:
            raise _hub_error(ref, err, 'the file list') from err
        except Exception as err:  # unreachable Hub (connection, timeout, server error): fall back to the cache
            network_error = err
    what = 'the repo' + (f' at revision {ref.revision}' if ref.revision else '')
    try:
        folder = snapshot_download(ref.repo_id, revision=ref.revision, cache_dir=cache_dir, local_files_only=True,
                                   allow_patterns=list(METADATA_FILES))
    except LocalEntryNotFoundError as err:
        folder = getattr(err, 'snapshot_path', None)  # a partial snapshot (IncompleteSnapshotError) still lists
        if folder is None and network_error is not None:
            raise HubCheckpointError(
                f'{ref}: could not reach the Hugging Face Hub ({type(network_error).__name__}: {network_error}) and '
                f'{what} is not in the cache ({cache_dir}); check the network (HF_ENDPOINT, proxy), or pass a local '
                f'checkpoint path') from network_error
        if folder is None:
            raise _hub_error(ref, err, what) from err
    return _folder_files(folder)


def _folder_files(folder: str) -> List[str]:
    return sorted(osp.relpath(osp.join(root, f), folder).replace(os.sep, '/')
                  for root, _, files in os.walk(folder) for f in files)


def select_weights(files: List[str], where: str) -> str:
    """The weights file among a repo's files: ``model.safetensors``, else ``model.safetensors.index.json``, else the
    only ``*.safetensors`` file; anything else is an error listing the candidates. Pickled files (``.pth``,
    ``.bin``) are never taken from a repo: loading them can run code."""
    for name in (WEIGHTS_FILE, WEIGHTS_INDEX_FILE):
        if name in files:
            return name
    found = [f for f in files if f.endswith('.safetensors')]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise HubCheckpointError(f'{where}: several weights files ({", ".join(found)}); name one, e.g. '
                                 f'{where.rstrip("/")}/{found[0]}')
    raise HubCheckpointError(f'{where}: no *.safetensors weights file among {files}')


def read_safetensors_index(path: str, device='cpu') -> 'OrderedDict':
    """All tensors of a sharded safetensors checkpoint (``model.safetensors.index.json`` and its shards)."""
    from safetensors.torch import load_file
    with open(path) as f:
        weight_map = json.load(f)['weight_map']
    state_dict = OrderedDict()
    for shard in dict.fromkeys(weight_map.values()):
        state_dict.update(load_file(osp.join(osp.dirname(path), shard), device=str(device)))
    return OrderedDict((k, state_dict[k]) for k in weight_map)


def _download_weights(ref: HubRef, filename: str) -> str:
    path = hub_download(ref, filename)
    if filename.endswith('.index.json'):
        with open(path) as f:
            for shard in dict.fromkeys(json.load(f)['weight_map'].values()):
                hub_download(ref, osp.join(osp.dirname(filename), shard).replace(os.sep, '/'))
    return path


def resolve_checkpoint(path) -> str:
    """A checkpoint argument -> a local file: a Hub id is downloaded (or found in the cache), a folder laid out like a
    Hub repo gives its weights file, anything else is returned with ``~`` and ``$VARS`` expanded."""
    from .checkpoint import expand_path
    ref = parse_hub_ref(path)
    if ref is not None:
        filename = ref.filename or select_weights(hub_repo_files(ref), str(ref))
        if not filename.endswith(('.safetensors', WEIGHTS_INDEX_FILE)):
            raise HubCheckpointError(f'{ref}: only safetensors checkpoints are loaded from the Hub ({filename} would '
                                     f'be unpickled, which can run code); download it yourself if you trust it')
        return _download_weights(ref, filename)
    path = expand_path(path)
    if is_repo_folder(path):
        return osp.join(path, select_weights(_folder_files(path), path))
    return path


def hub_metadata(path) -> dict:
    """``{file name: local path}`` of the repo's ``config.json`` / ``sapiens2_config.json`` (those it has) for a Hub
    id or a local Hub-like folder; ``{}`` for anything else."""
    from huggingface_hub.errors import EntryNotFoundError
    ref = parse_hub_ref(path)
    if ref is None:
        from .checkpoint import expand_path
        folder = expand_path(path) if isinstance(path, str) else None
        if folder is not None and osp.isfile(folder):
            folder = osp.dirname(folder)  # a weights file inside a Hub-like folder
        if not (folder and is_repo_folder(folder)):
            return {}
        return {f: osp.join(folder, f) for f in METADATA_FILES if osp.isfile(osp.join(folder, f))}
    found, first_error = {}, None
    for name in METADATA_FILES:
        try:
            found[name] = hub_download(ref, name)
        except HubCheckpointError as err:
            if not isinstance(err.__cause__, EntryNotFoundError):
                raise
            first_error = first_error or err
    if not found and first_error is not None:
        raise first_error
    return found


def arch_size(hidden_size: int, num_layers: int, num_heads: int) -> Optional[str]:
    """'0.4b', '1b', ... for a released architecture, None for any other."""
    from sapiens2.models.backbones.sapiens2 import Sapiens2
    for name, arch in Sapiens2.arch_zoo.items():
        if (arch['embed_dims'], arch['num_layers'], arch['num_heads']) == (hidden_size, num_layers, num_heads):
            return name[len('sapiens2_'):]
    return None


def config_name_from_hf_config(hf_config: dict) -> str:
    """The bundled config (a name for :func:`sapiens2.utils.package_files.get_config`) of a transformers Sapiens2
    ``config.json``: the task from ``architectures``, the size from ``hidden_size`` / ``num_hidden_layers`` /
    ``num_attention_heads``. Raises ``ValueError`` for a config no bundled one matches."""
    if hf_config.get('model_type') != 'sapiens2':
        raise ValueError(f'config.json has model_type {hf_config.get("model_type")!r}, not a Sapiens2 model')
    archs = hf_config.get('architectures') or ['Sapiens2Model']
    tasks = {HF_ARCHITECTURE_TASKS.get(a) for a in archs} - {None}
    if len(tasks) != 1:
        raise ValueError(f'config.json architectures {archs}: no (or no single) task among '
                         f'{sorted(HF_ARCHITECTURE_TASKS)}; pass a config')
    task = tasks.pop()
    dims = (hf_config.get('hidden_size'), hf_config.get('num_hidden_layers'), hf_config.get('num_attention_heads'))
    size = arch_size(*dims)
    if size is None:
        raise ValueError(f'config.json: hidden_size / num_hidden_layers / num_attention_heads {dims} is no released '
                         f'Sapiens2 size; pass the config the model was trained with')
    from .package_files import get_config_path
    name = TASK_CONFIGS[task].format(size=size)
    try:
        get_config_path(name)
    except FileNotFoundError as err:
        raise ValueError(f'config.json: {archs[0]} at size {size}: no bundled config {name}; pass a config') from err
    return name


def config_for_checkpoint(checkpoint: str):
    """The project config of a Hub checkpoint (id or Hub-like local folder): its ``sapiens2_config.json`` as an
    MMEngine ``Config`` when it has one, else the name of the bundled config matching its ``config.json``."""
    files = hub_metadata(checkpoint)
    if SAPIENS2_CONFIG_FILE in files:
        from mmengine.config import Config
        # Data only: custom_imports of a downloaded file are not imported.
        return Config.fromfile(files[SAPIENS2_CONFIG_FILE], import_custom_modules=False)
    if HF_CONFIG_FILE in files:
        with open(files[HF_CONFIG_FILE]) as f:
            return config_name_from_hf_config(json.load(f))
    raise ValueError(f'{checkpoint}: neither {SAPIENS2_CONFIG_FILE} nor {HF_CONFIG_FILE} found, so the model '
                     f'config is unknown; pass a config')


def load_model_config(config, checkpoint):
    """``config`` as given (Config / file / bundled name), or, when None, :func:`config_for_checkpoint` of a Hub
    ``checkpoint`` (the inference entry points' ``config=None``)."""
    if config is not None:
        return config
    if checkpoint is None or not is_hub_checkpoint(checkpoint):
        raise ValueError('a config is needed unless the checkpoint is a Hugging Face Hub id (hf://owner/name) or a '
                         f'folder laid out like a Hub repo; got checkpoint {checkpoint!r}')
    return config_for_checkpoint(checkpoint)


__all__ = [
    'HubCheckpointError', 'HubRef', 'parse_hub_ref', 'is_hub_checkpoint', 'is_repo_folder', 'hub_settings',
    'hub_download', 'hub_repo_files', 'select_weights', 'read_safetensors_index', 'resolve_checkpoint',
    'hub_metadata', 'arch_size', 'config_name_from_hf_config', 'config_for_checkpoint', 'load_model_config'
]
