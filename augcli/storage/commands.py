"""``verify``, ``replay`` and ``preview --out`` when a tree is in object storage.

Each does what its local command does, through ``Store``: verify re-hashes
OUT's objects against its manifest (with the parts of a killed run), replay
reads the manifest and ``augcli.json`` from the store and writes NEWOUT as
whole objects, preview PUTs the finished sheet.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from .._replay import read_replay, write_replay
from .._verify import Report, files_below
from ..errors import UsageError
from ..manifest import MANIFEST, RUN_FILE, ManifestError, read_records
from ..outdir import OutDir
from ..scan import check_src
from . import tree_of
from .outstore import PARTS, RemoteOut, read_joined, records
from .store import Store


def verify_stored(out, source, options: dict) -> Report:
    out_tree = tree_of(str(out), options, role="OUT")
    source_tree = None if source is None else tree_of(str(source), options, role="SOURCE")
    report = Report()

    def corrupt(error: ManifestError) -> None:
        report.corrupt.append(str(error))

    if isinstance(out_tree, str):
        root = Path(out_tree)
        if not (root / MANIFEST).exists():
            raise UsageError(f"{out} has no {MANIFEST}: not an augcli output folder")
        found, files = read_records(root / MANIFEST, on_error=corrupt), files_below(root)
    else:
        root = out_tree
        names = _listing(out_tree, "OUT")
        if MANIFEST not in names and not any(n.startswith(f"{PARTS}/{MANIFEST}.") for n in names):
            raise UsageError(f"{out_tree} has no {MANIFEST}: not an augcli output folder")
        found, files = records(out_tree, on_error=corrupt), [n for n in names if not n.startswith(PARTS + "/")]
    if isinstance(source_tree, str):
        check_src(source_tree)
        source_tree = Path(source_tree)
    return report.run(root, found, files, source_tree)


def _listing(store: Store, role: str) -> list[str]:
    try:
        return list(store.files())
    except OSError as exc:
        raise UsageError(f"cannot list {role} {store}: {exc.strerror or exc}") from None


def replay_stored(manifest, src, newout, *, only, max_pixels: int, storage_options: dict) -> int:
    """``replay`` with any of MANIFEST, SRC and NEWOUT as URLs."""
    manifest_tree = tree_of(str(manifest), storage_options, role="manifest")
    src_tree = tree_of(str(src), storage_options, role="SRC")
    out_tree = tree_of(str(newout), storage_options, role="NEWOUT")
    if isinstance(src_tree, str):
        check_src(src_tree)
    if isinstance(out_tree, str):
        from ..outstate import check_out

        check_out(out_tree)
        if Path(out_tree).exists() and any(Path(out_tree).iterdir()):
            raise UsageError(f"NEWOUT {newout} is not empty: replay writes into a new folder")
    elif _listing(out_tree, "NEWOUT"):
        raise UsageError(f"NEWOUT {out_tree} is not empty: replay writes into a new folder")
    if isinstance(src_tree, Store) and isinstance(out_tree, Store) and src_tree.protocol == out_tree.protocol \
            and (out_tree.root + "/").startswith(src_tree.root + "/"):
        raise UsageError(f"NEWOUT {out_tree} is inside SRC {src_tree}: augcli never writes into its source")
    with tempfile.TemporaryDirectory(prefix="augcli-replay-") as staging:
        if isinstance(manifest_tree, str):
            manifest_path, shown = Path(manifest_tree).resolve(), str(Path(manifest_tree).resolve())
        else:
            manifest_path, shown = _stage(manifest_tree, Path(staging)), str(manifest_tree)
        try:
            run, recipe, by_source = read_replay(manifest_path, only, max_pixels)
        except ManifestError as exc:  # name the manifest as the user gave it, not the staged copy
            where = shown if exc.path == str(manifest_path) else f"{shown.rpartition('/')[0]}/{RUN_FILE}"
            raise ManifestError(where, exc.line, exc.what) from None
        if isinstance(out_tree, str):
            Path(out_tree).mkdir(parents=True, exist_ok=True)
            target = OutDir.of(out_tree)
        else:
            target = RemoteOut(out_tree)
        src_arg = Path(src_tree) if isinstance(src_tree, str) else src_tree
        return write_replay(shown, src_arg, target, run, recipe, by_source, max_pixels, replay_of=shown)


def _stage(manifest: Store, staging: Path) -> Path:
    """A manifest URL (``.../OUT/manifest.jsonl``) and the ``augcli.json`` beside
    it, copied into ``staging`` for the local readers; returns the manifest's copy."""
    folder, _, name = manifest.root.rpartition("/")
    if name != MANIFEST:
        raise UsageError(f"manifest {manifest}: give the URL of an output's {MANIFEST}")
    out = Store(manifest.url.rpartition("/")[0], manifest.protocol, folder, manifest.options_json)
    data = read_joined(out, MANIFEST)
    if data is None:
        raise UsageError(f"manifest {manifest} not found")
    (staging / MANIFEST).write_bytes(data)
    try:
        (staging / RUN_FILE).write_bytes(out.read(RUN_FILE))
    except FileNotFoundError:
        pass
    return staging / MANIFEST


def write_sheet(image, out_path: str, options: dict) -> None:
    """``preview --out URL``: the sheet PUT whole, in the format its name says."""
    folder, _, name = out_path.rstrip("/").rpartition("/")
    store = tree_of(folder, options, role="--out")
    buffer = io.BytesIO()
    image.save(buffer, format=None if "." not in name else _format_of(name))
    store.write(name, buffer.getvalue())


def _format_of(name: str) -> str:
    from PIL import Image

    return Image.registered_extensions()[Path(name).suffix.lower()]
