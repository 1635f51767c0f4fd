"""Reading annotation JSON files with errors that name the file (a truncated file otherwise raises a bare
``json.JSONDecodeError`` without a path)."""
import json
import os.path as osp
from typing import Any


class AnnotationFileError(ValueError):
    """An annotation / label-map JSON file cannot be parsed; the message names the file, its size and where."""


def json_error(path: str, err: Exception, what: str = 'annotation file') -> AnnotationFileError:
    """The :class:`AnnotationFileError` for ``err`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``) raised
    while parsing ``path``."""
    size = osp.getsize(path) if osp.isfile(path) else None
    where = ''
    hint = 'the file is not valid JSON'
    if isinstance(err, json.JSONDecodeError):
        where = f' at line {err.lineno}, column {err.colno} (character {err.pos})'
        if (size is not None and err.pos >= size - 1) or not err.doc.strip():
            hint = 'the file ends early: it is truncated or empty (an interrupted download or copy?)'
    sized = f' ({size} bytes)' if size is not None else ''
    return AnnotationFileError(f'cannot parse {what} {path}{sized}{where}: {err.msg if hasattr(err, "msg") else err}'
                               f'; {hint}. Download or regenerate it.')


def load_json(path: str, what: str = 'annotation file') -> Any:
    """``json.load`` of ``path``, raising :class:`AnnotationFileError` (naming the file) on a parse error."""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise json_error(path, e, what) from e
