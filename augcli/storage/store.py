"""``Store``: one tree in object storage, and the small API every reader and
writer of a remote tree goes through.

    read(relpath, limit)   bytes (``FileNotFoundError`` when absent)
    open(relpath)          a binary handle, streamed
    write(relpath, data)   one PUT of finished bytes: the object appears whole or not at all
    create(relpath, data)  the same, only if nothing is there (a conditional write)
    exists / info / remove / files / heads

A ``Store`` is small and picklable (protocol, root, the options as JSON), so a
worker, a loky process or a Dask worker on another machine rebuilds the same
filesystem from it; the fsspec filesystem itself is made once per process.
Storage options hold credentials: they are never part of ``str()``/``repr()``
and ``scrub`` takes them out of any message before it is shown.
"""
from __future__ import annotations

import errno
import importlib.util
import io
import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from ..trees import Refused, check_relpath
from . import CLOUD_EXTRA, scheme_of

# option names whose values are secrets (matched as substrings, lower case)
_SECRET_WORDS = ("key", "secret", "token", "password", "credential", "sas", "connection_string", "session")
# protocols whose fsspec filesystem honours pipe_file(mode="create") (s3fs sends If-None-Match: *)
CONDITIONAL_WRITES = frozenset({"s3", "s3a", "memory"})
_FILESYSTEMS: dict[tuple[str, str], Any] = {}  # per process: (protocol, options) -> fsspec filesystem


def _without_userinfo(url: str) -> str:
    """``url`` as it may be shown: without ``user:password@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _secrets(options: Any) -> Iterator[str]:
    """The string values of ``options`` (nested too) whose key names a secret."""
    if isinstance(options, dict):
        for key, value in options.items():
            if isinstance(value, dict):
                yield from _secrets(value)
            elif isinstance(value, str) and value and any(w in key.lower() for w in _SECRET_WORDS):
                yield value


@dataclass(frozen=True)
class Store:
    """The tree at ``url`` (shown without credentials) in an fsspec filesystem."""

    url: str
    protocol: str
    root: str  # the filesystem's path of the tree, no protocol, no trailing slash
    options_json: str = field(default="{}", repr=False)  # the storage options, never shown

    @classmethod
    def at(cls, url: str, options: dict[str, Any], *, role: str = "SRC") -> "Store":
        """The tree ``url`` names. Without fsspec or the protocol's package
        installed this is a usage error naming the extra, before anything runs."""
        shown = _without_userinfo(url)
        protocol = scheme_of(url)
        if importlib.util.find_spec("fsspec") is None:
            raise UsageError(f"{role} {shown} is a {protocol}:// URL: object storage needs augcli's cloud "
                             f"extra: {CLOUD_EXTRA}")
        import fsspec

        try:
            kind = fsspec.get_filesystem_class(protocol)
        except ImportError as exc:
            raise UsageError(f"{role} {shown}: {exc}; augcli's cloud extra installs it: {CLOUD_EXTRA}") from None
        except ValueError:
            raise UsageError(f"{role} {shown}: unknown storage protocol {protocol}:// (fsspec knows "
                             "s3, gs, az, memory, file and others)") from None
        if "@" in urlsplit(url).netloc:  # s3://key:secret@bucket: a secret on the command line, in logs
            raise UsageError(f"{role} {shown}: credentials do not go in the URL; give them in the environment, "
                             "a profile or --storage-option")
        root = kind._strip_protocol(url).rstrip("/")
        if not root.strip("/"):
            raise UsageError(f"{role} {shown}: name a bucket (and a prefix), e.g. {protocol}://bucket/data")
        return cls(shown.rstrip("/"), protocol, root, json.dumps(options, sort_keys=True))

    def __str__(self) -> str:
        return self.url

    @property
    def options(self) -> dict[str, Any]:
        return json.loads(self.options_json)

    @property
    def fs(self):
        key = (self.protocol, self.options_json)
        fs = _FILESYSTEMS.get(key)
        if fs is None:
            import fsspec

            try:
                fs = fsspec.filesystem(self.protocol, **self.options)
            except TypeError as exc:
                raise UsageError(f"{self.url}: a --storage-option is not one {self.protocol}:// takes: "
                                 f"{self.scrub(str(exc))}") from None
            _FILESYSTEMS[key] = fs
        return fs

    def scrub(self, text: str) -> str:
        """``text`` with every secret storage option replaced by ``***``."""
        for secret in _secrets(self.options):
            text = text.replace(secret, "***")
        return text

    def path(self, relpath: str) -> str:
        """The filesystem path of ``relpath`` (a plain relative path, else ``Refused``)."""
        return f"{self.root}/{check_relpath(relpath)}"

    def show(self, relpath: str = "") -> str:
        return f"{self.url}/{relpath}" if relpath else self.url

    def scan(self):
        """SRC here, listed as ``augcli.scan.scan`` lists a local one."""
        from .listing import scan_store

        return scan_store(self)

    # -- reading -------------------------------------------------------------------------

    def read(self, relpath: str, limit: int | None = None, max_size: int | None = None) -> bytes:
        """The object's bytes (at most ``limit``); with ``max_size``, one larger
        than that is ``Refused`` having fetched no more than ``max_size + 1``
        bytes of it (a ranged GET, as ``trees.read_inside`` bounds a local read)."""
        path = self.path(relpath)
        end = limit if max_size is None else max_size + 1 if limit is None else min(limit, max_size + 1)
        with self._errors():
            data = self.fs.cat_file(path, start=0, end=end) if end is not None else self.fs.cat_file(path)
        if max_size is not None and len(data) > max_size:
            raise Refused(f"file is more than {max_size:,} bytes, the most an image within --max-pixels can need; "
                          "not read (raise --max-pixels to read it)")
        return data

    def open(self, relpath: str) -> BinaryIO:
        """A handle reading the object whole (``FileNotFoundError`` when absent)."""
        return io.BytesIO(self.read(relpath))

    def info(self, relpath: str) -> dict | None:
        """The object's metadata (size, ETag, ...), asked of the store now; None when absent."""
        path = self.path(relpath)
        with self._errors():
            self.fs.invalidate_cache(path)
            try:
                info = self.fs.info(path)
            except FileNotFoundError:
                return None
        return info if info.get("type") != "directory" else None

    def exists(self, relpath: str) -> bool:
        return self.info(relpath) is not None

    def files(self, under: str = "") -> dict[str, dict]:
        """Every object below the root (or its folder ``under``): relpath -> its
        metadata, listed now."""
        base = f"{self.root}/{check_relpath(under)}" if under else self.root
        with self._errors():
            self.fs.invalidate_cache()
            try:
                found = self.fs.find(base, detail=True)
            except FileNotFoundError:
                return {}
        prefix = self.root + "/"
        return {name[len(prefix):]: info for name, info in found.items()
                if name.startswith(prefix) and info.get("type") != "directory"}

    def heads(self, relpaths: list[str], size: int) -> list[bytes | Exception]:
        """The first ``size`` bytes of each object, fetched together (concurrently
        on stores that can); an object that cannot be read gives its exception."""
        if not relpaths:
            return []
        paths = [self.path(r) for r in relpaths]
        with self._errors():
            return self.fs.cat_ranges(paths, [0] * len(paths), [size] * len(paths), on_error="return")

    # -- writing -------------------------------------------------------------------------

    def write(self, relpath: str, data: bytes) -> None:
        """One PUT of the finished bytes: readers see the old object or the new one, whole."""
        path = self.path(relpath)
        with self._errors():
            self.fs.pipe_file(path, data)

    def create(self, relpath: str, data: bytes) -> None:
        """``write`` only if no object is there: ``FileExistsError`` if one is;
        ``NotImplementedError`` on a store that cannot write conditionally (or
        whose fsspec package augcli has not seen do it: a store that ignored
        the condition would let two writers in)."""
        if self.protocol not in CONDITIONAL_WRITES:
            raise NotImplementedError(f"{self.protocol}:// conditional writes are not known to augcli")
        path = self.path(relpath)
        with self._errors():
            try:
                self.fs.pipe_file(path, data, mode="create")
            except (TypeError, ValueError) as exc:
                raise NotImplementedError(f"{self.protocol}:// has no conditional write: {exc}") from None

    def remove(self, relpath: str) -> bool:
        """Delete the object; whether one was there."""
        try:
            path = self.path(relpath)
        except Refused:
            return False
        with self._errors():
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                return False
        return True

    def _errors(self):
        return _StoreErrors(self)


class _StoreErrors:
    """Every failure of a store call as an ``OSError`` (what augcli's readers and
    writers handle: a skip, or "writing to OUT failed"), its message scrubbed of
    secrets. ``FileNotFoundError`` / ``FileExistsError`` keep their type."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, (FileNotFoundError, FileExistsError, Refused, UsageError,
                                           NotImplementedError, KeyboardInterrupt)):
            return False
        if not isinstance(exc, Exception):
            return False
        text = self.store.scrub(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        number = getattr(exc, "errno", None) or errno.EIO
        wrapped = (type(exc) if isinstance(exc, OSError) and type(exc) is not OSError else OSError)(number, text)
        raise wrapped from None
