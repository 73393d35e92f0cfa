"""Trees in object storage: SRC, OUT and the other tree arguments as fsspec URLs.

A tree argument is a local path (today's code path, unchanged) or a URL
(``s3://bucket/data``, ``gs://``, ``az://``, ``memory://``). ``file://`` is a
local path written as a URL: it is turned back into one here, so it keeps the
local fast path and every local guarantee (inode checks, ``flock``, no-follow).

``tree_of`` is the one place a command turns its argument into a tree: a
``str`` path, or a ``Store`` (``augcli.storage.store``) carrying the storage
options (credentials, ``endpoint_url``) that ``--storage-option`` gave.

The seam, for any reader or writer of files in a tree (images, labels):

* read: ``trees.read_inside(root, relpath)`` / ``trees.open_inside`` take a
  local root or a ``Store`` alike;
* write: ``out.write(relpath, data)`` (``outdir.write_atomic``) on an ``OutDir``
  or a ``RemoteOut`` (``storage.outstore``): whole or not at all on both;
* ``out.is_file(relpath)``, ``out.remove(relpath)``; listing is ``scan.scan``
  (or ``Store.files`` for a store's raw listing).
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import UsageError

CLOUD_EXTRA = "pip install -e '.[cloud]' in the augcli checkout (or the wheel with [cloud])"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_SCHEMES = ("file", "local")


def scheme_of(value: object) -> str | None:
    """The URL scheme of a tree argument (``s3``), or None for a plain path."""
    if not isinstance(value, str):
        return None
    match = _SCHEME.match(value)
    return match.group(1).lower() if match else None


def is_url(value: object) -> bool:
    """A tree argument that names object storage (not ``file://``, which is local)."""
    scheme = scheme_of(value)
    return scheme is not None and scheme not in _LOCAL_SCHEMES


def is_remote(tree: object) -> bool:
    """A tree that is a ``Store`` (or a URL naming one), not a local path."""
    return is_url(tree) or not isinstance(tree, (str, bytes)) and hasattr(tree, "protocol")


def local_path(value: str) -> str:
    """``file:///data/x`` -> ``/data/x``; a plain path as it is."""
    if scheme_of(value) not in _LOCAL_SCHEMES:
        return value
    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost"):
        raise UsageError(f"{value}: a file:// URL names this machine (file:///path), not host {parts.netloc!r}")
    return unquote(parts.path) or "/"


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``--storage-option KEY=VALUE`` pairs as fsspec storage options: ``true`` /
    ``false`` become booleans, whole numbers integers, ``{...}`` JSON objects
    (``client_kwargs={"region_name": "eu-west-1"}``); anything else a string.
    A malformed pair is a usage error that names the key, never the value."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").isalnum():
            shown = key if sep else "(no '=')"
            raise UsageError(f"--storage-option {shown}: expected KEY=VALUE, e.g. endpoint_url=http://127.0.0.1:9000")
        options[key] = _value(key, value)
    return options


def _value(key: str, text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            raise UsageError(f"--storage-option {key}: a value starting with '{{' must be a JSON object") from None
        if isinstance(value, dict):
            return value
    return text


def tree_of(value: str, options: dict[str, Any] | None = None, *, role: str = "SRC"):
    """A command's tree argument as a local path (``str``) or a ``Store``. A URL
    without augcli's cloud extra installed is a usage error naming the extra,
    raised before anything is read or written."""
    if not is_url(value):
        return local_path(value)
    from .store import Store

    return Store.at(value, options or {}, role=role)
