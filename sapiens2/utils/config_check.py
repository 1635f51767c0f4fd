"""Refusing misspelled config keys, with the closest valid name.

MMEngine accepts any top-level key (configs define helper variables: ``image_size``, ``codec``, ``data_root``,
``tiny_optim_wrapper`` ...), and reads several dicts with ``.get`` so that a typo there is ignored. The rule here:

* **top level**: a key that is not a key the runners read but is within a small edit distance of one
  (``optim_wraper``, ``param_schedulers``, ``default_hook``, ``load_form``) is refused: a helper variable that close
  to a runner key would be unreadable anyway. Helper names that extend a runner key (``tiny_optim_wrapper``,
  ``probe_param_scheduler``) are far from it and pass;
* **our own components' options** (a model's ``test_cfg``, strategy options, checkpoint-hook options,
  ``env_cfg``): every key must be a known one, else refused with the closest name;
* **``--cfg-options``**: a key path whose last component does not exist in the config but is within the edit
  distance of an existing sibling (``train_cfg.max_iter``) is refused; a new key far from every sibling passes (it
  may be a valid option the config does not spell out, checked when the component is built).
"""
import difflib
import inspect
from typing import Iterable, Mapping, Optional

# keys the runners (MMEngine's Runner / FlexibleRunner, tools/train.py, sapiens2.engine) read at the top level
_EXTRA_TOP_LEVEL = ('default_scope', 'custom_imports', 'runner_type', 'load_from_strict', 'find_unused_parameters',
                    'launcher', 'model_wrapper_cfg', 'compile', 'strategy', 'work_dir', 'resume', 'load_from',
                    'gpu_ids', 'dist_params', 'filename')
ENV_CFG_KEYS = ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit')


class UnknownConfigKeyError(ValueError):
    """A config key that nothing reads (a typo), with the closest valid name."""


def runner_keys() -> set:
    from mmengine.runner import FlexibleRunner, Runner
    keys = set(inspect.signature(Runner.__init__).parameters)
    keys |= set(inspect.signature(FlexibleRunner.__init__).parameters)
    return (keys - {'self', 'cfg', 'kwargs'}) | set(_EXTRA_TOP_LEVEL)


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, adjacent transpositions)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def closest(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate most similar to ``name`` (difflib), if any is reasonably similar."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def looks_like_typo(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate ``name`` is a misspelling of: edit distance 1 (names under 6 characters) or 2."""
    limit = 1 if len(name) < 6 else 2
    near = [c for c in candidates if c != name and edit_distance(name, c) <= limit]
    return (closest(name, near) or near[0]) if near else None


def _message(where: str, key: str, suggestion: Optional[str], valid: Iterable[str]) -> str:
    hint = f" (did you mean '{suggestion}'?)" if suggestion else ''
    return f"{where}: unknown key '{key}'{hint}; valid keys: {', '.join(sorted(valid))}"


def check_keys(where: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Refuse every key of ``given`` not in ``valid``, naming the closest valid one."""
    valid = set(valid)
    unknown = [k for k in given if k not in valid]
    if unknown:
        raise UnknownConfigKeyError('; '.join(_message(where, k, closest(k, valid), valid) for k in unknown))


def init_args(cls) -> set:
    """Keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up the class hierarchy."""
    names = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters
        names |= {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and n != 'self'}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    return names


def check_config(cfg: Mapping, source: str = 'config') -> None:
    """Top-level misspellings of runner keys and unknown ``env_cfg`` keys (see the module docstring)."""
    known = runner_keys()
    problems = []
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        typo = looks_like_typo(key, known)
        if typo:
            problems.append(f"{source}: top-level key '{key}' is not read by the runner (did you mean '{typo}'?); "
                            'a helper variable must not be named like a runner key')
    if problems:
        raise UnknownConfigKeyError('; '.join(problems))
    env_cfg = cfg.get('env_cfg') or {}
    check_keys(f'{source}: env_cfg', env_cfg.keys(), ENV_CFG_KEYS)


def check_cfg_options(cfg: Mapping, options: Mapping) -> None:
    """Refuse ``--cfg-options`` keys that match nothing in ``cfg`` but misspell an existing key at their level."""
    cfg = getattr(cfg, '_cfg_dict', cfg)  # mmengine Config -> its ConfigDict
    problems = []
    for path in options:
        node, parts = cfg, path.split('.')
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)) and part.isdigit():
                node = node[int(part)] if int(part) < len(node) else None
                continue
            if not isinstance(node, Mapping) or part in node:
                node = node.get(part) if isinstance(node, Mapping) else None
                continue
            siblings = [k for k in node.keys() if isinstance(k, str)]
            typo = looks_like_typo(part, siblings if depth else list(set(siblings) | runner_keys()))
            if typo:
                problems.append(f"--cfg-options {path}: '{'.'.join(parts[:depth + 1])}' matches nothing in the "
                                f"config (did you mean '{'.'.join(parts[:depth] + [typo])}'?)")
            break
    if problems:
        raise UnknownConfigKeyError('; '.join(problems))
