"""Contact sheets: look at a recipe before running it.

One row per sampled source image (spread over the classes), the original
first, then K augmentations produced exactly as ``expand`` produces them: the
plan's ``augmentations`` and ``augcli.render``'s draw and augment (keyed seeds,
the ops, the output size). Only the sampled
sources are decoded, so a huge SRC costs a scan, not a decode.
"""
from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .arguments import check_seed, check_sheet
from .errors import UsageError
from .imaging import to_pil
from .io import Encoding, decode
from .limits import DEFAULT_MAX_PIXELS, max_source_bytes
from .manifest import MANIFEST, ManifestRecord, read_records
from .outdir import replace_file
from .ops import lookup
from .plan import augmentations, augmented_splits
from .recipe import Recipe
from .distinct import draws
from .render import augment, draw, finish
from .label_rules import LabelRules
from .labelled import move_targets, redraw_rng, settle
from .layouts import layout, scan
from .overlay import overlay
from .sampling import sample
from .scan import SourceImage, is_within
from .storage import is_url
from .trees import read_inside, refuse_dangling_link

TILE = 192
LABEL_LINES = 2
BACKGROUND = (244, 244, 242)
INK = (40, 40, 40)
MUTED = (110, 110, 110)

SHORT_NAMES = {"rotate": "rot", "translate": "shift", "brightness": "bright", "saturation": "sat",
               "gaussian_noise": "noise", "salt_pepper": "s&p", "random_resized_crop": "rrc",
               "channel_shift": "ch.shift", "perspective": "persp"}
HIDDEN_PARAMS = {"interpolation", "cval", "seed", "boxes", "corners", "box", "unit", "fill_value", "mode"}


@dataclass
class Tile:
    image: Image.Image
    caption: str


@dataclass
class Row:
    label: str
    tiles: list[Tile]


def _number(value: float) -> str:
    return f"{value:.3g}"


KERAS_NEUTRAL = {"rotate": 0, "shift_x": 0, "shift_y": 0, "shear": 0, "zoom_x": 1, "zoom_y": 1, "hflip": False,
                 "vflip": False, "channel_shift": 0, "brightness": 1}


def describe_ops(ops: Iterable[dict]) -> str:
    """``rot -12.3° reflect · hflip · contrast 1.21``: each op with the values
    that differ from its defaults, compactly."""
    parts = []
    for op in ops:
        spec = lookup(op["op"])
        defaults = {p.name: p.default for p in spec.params} if spec else {}
        if op["op"] == "keras":  # recorded under other names than its parameters: leave out what did nothing
            defaults = KERAS_NEUTRAL
        words = [SHORT_NAMES.get(op["op"], op["op"])]
        shown = {name: value for name, value in op.items() if not (
            name == "op" or name in HIDDEN_PARAMS or value is None or defaults.get(name, object()) == value)}
        # several numbers (keras' rotate, shifts, shear, zooms) are unreadable without their names
        named = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in shown.values()) > 1
        for name, value in shown.items():
            if isinstance(value, bool):
                words.append(name if value else f"no {name}")
            elif isinstance(value, (int, float)):
                words.append((f"{name} " if named else "") + _number(value)
                             + ("°" if name in ("angle", "rotate", "shear") else ""))
            elif isinstance(value, str):
                words.append(value)
        parts.append(" ".join(words))
    return " · ".join(parts) if parts else "no op fired"


def pick_sources(sources: list[SourceImage], count: int, seed: int) -> list[SourceImage]:
    """``count`` sources spread over the classes: each class shuffled with the
    seed, then taken round-robin."""
    by_class: dict[tuple, list[SourceImage]] = defaultdict(list)
    for source in sources:
        by_class[(source.split, source.label)].append(source)
    rng = np.random.default_rng(seed)
    queues = []
    for key in sorted(by_class, key=lambda k: (str(k[0]), k[1])):
        members = by_class[key]
        queues.append([members[i] for i in rng.permutation(len(members))])
    picked: list[SourceImage] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def check_paths(src: str | None, recipe: str | None, out: str, from_out: str | None) -> None:
    """What ``augcli preview`` is given, checked before anything is read: SRC with
    a recipe or an OUT to draw from, and a sheet path that is an image name
    Pillow writes, not a dangling link, and not inside SRC (as expand checks
    its OUT)."""
    if from_out is None and (src is None or recipe is None):
        raise UsageError("preview needs SRC and --recipe, or --from OUT")
    refuse_dangling_link(out)
    if Path(out).suffix.lower() not in Image.registered_extensions():
        raise UsageError(f"--out {out}: {Path(out).suffix or 'no extension'} is not an image format "
                         "Pillow writes; name it .png")
    if src is not None and Path(src).is_dir() and is_within(src, Path(out).parent):
        # by (device, inode): SRC mounted a second time is still SRC
        raise UsageError(f"--out {out} is inside SRC {src}: augcli never writes into its source")


def preview_rows(src: str | Path, recipe: Recipe, *, images: int = 6, variants: int = 4,
                 seed: int | None = None, augment_splits: tuple[str, ...] | None = None,
                 layout: str | None = None) -> list[Row]:
    """The sheet's content, full size: per sampled source, the original and the
    augmented images exactly as ``expand`` renders them (before encoding)."""
    seed = check_seed(seed)
    images, variants = check_sheet(images, variants)
    run_seed = recipe.effective_seed if seed is None else seed
    found = scan(src, forced=layout)
    splits = augmented_splits(found, augment_splits)
    candidates = [s for s in found.sources if s.split in splits]
    encoding = Encoding.of(recipe.output)  # the output size; a tile is not encoded
    labels = _Labels(found, str(src), recipe, run_seed) if found.layout != "folders" else None
    rows = []
    for source in pick_sources(candidates, images, run_seed):
        try:
            decoded = decode(read_inside(src, source.relpath, max_size=max_source_bytes(DEFAULT_MAX_PIXELS)))
            targets = labels.read(source, decoded.size) if labels else None
        except Exception as exc:  # an unusable file is shown as such, not fatal
            rows.append(Row(f"{source.label}: {source.relpath}", [Tile(_placeholder(), f"skipped: {exc}")]))
            continue
        original = to_pil(finish(decoded.image, encoding))
        if labels:
            original = labels.drawn(original, targets, (), encoding)[1]
        tiles = [Tile(original, "original")]
        for copy, name, steps in augmentations(recipe, source.label, variants)[:variants]:
            try:
                if recipe.distinct and name is None:  # as expand draws them (distinct.py)
                    ops = draws(run_seed, source.relpath, [copy], steps, decoded.size)[copy][0]
                else:
                    ops, _ = draw(run_seed, source.relpath, copy, steps, decoded.size)
                if labels:  # the ops expand keeps (on_empty: redraw draws again, as expand does)
                    ops = labels.settled(targets, ops, encoding, source, copy, steps, decoded.size)
                image = to_pil(augment(decoded.image, ops, encoding))
                if labels:
                    image = labels.drawn(image, targets, ops, encoding)[1]
                caption = describe_ops([op.to_json() for op in ops])
            except Exception as exc:  # as in expand: one image's failure is shown, not fatal
                image, caption = _placeholder(), f"skipped: {type(exc).__name__}: {exc}"
            tiles.append(Tile(image, f"{name}: {caption}" if name else caption))
        rows.append(Row(f"{source.label}: {source.relpath}", tiles))
    return rows


class _Labels:
    """An annotated SRC's labels on the sheet: moved by each tile's ops as
    ``expand`` moves them, drawn over its pixels (``augcli.overlay``)."""

    def __init__(self, found, src: str, recipe: Recipe, seed: int):
        self.found, self.src, self.seed = found, src, seed
        self.rules = recipe.labels or LabelRules()

    def read(self, source: SourceImage, size):
        return layout(self.found.layout).read(self.src, source, size)

    def settled(self, targets, ops, encoding, source, copy, steps, size):
        redraw = lambda attempt: sample(steps, redraw_rng(self.seed, source.relpath, copy, attempt), size)  # noqa: E731
        return settle(targets, ops, encoding, self.rules, redraw)[0]

    def drawn(self, image, targets, ops, encoding):
        moved, counts = move_targets(targets, ops, encoding, self.rules)
        return counts, overlay(image, moved, self.rules.ignore_index)


def rows_from_output(out: str | Path, *, images: int = 6, variants: int = 4, seed: int = 0) -> list[Row]:
    """The sheet's content from an existing output tree, via its manifest."""
    images, variants = check_sheet(images, variants)
    seed = check_seed(seed) or 0
    out = Path(out)
    records = list(read_records(out / MANIFEST))
    if not records:
        raise UsageError(f"{out} has no {MANIFEST} (or it is empty): not an augcli output folder")
    by_source: dict[str, list[ManifestRecord]] = defaultdict(list)
    for record in records:
        by_source[record.source].append(record)
    sources = [SourceImage(s, recs[0].label, recs[0].split, "") for s, recs in by_source.items()
               if any(r.kind == "augmented" for r in recs)]
    rows = []
    for source in pick_sources(sources, images, seed):
        recs = by_source[source.relpath]
        originals = [r for r in recs if r.kind == "original"][:1]
        augmented = [r for r in recs if r.kind == "augmented"][:variants]
        tiles = []
        for record in originals + augmented:
            caption = "original" if record.kind == "original" else describe_ops(record.ops)
            try:  # read only inside OUT, with the same bomb guard as any input
                image = to_pil(decode(read_inside(out, record.path,
                                                  max_size=max_source_bytes(DEFAULT_MAX_PIXELS))).image)
            except Exception as exc:  # a missing or unusable file is shown as such, not fatal
                image, caption = _placeholder(), f"not shown: {exc}"
            tiles.append(Tile(image, caption))
        rows.append(Row(f"{source.label}: {source.relpath}", tiles))
    return rows


def _placeholder() -> Image.Image:
    return Image.new("RGB", (TILE, TILE), (220, 220, 220))


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _display(image: Image.Image) -> Image.Image:
    """Any working mode as 8-bit RGB for the sheet (16-bit scaled down)."""
    if image.mode in ("I;16", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        arr = arr * (255.0 if image.mode == "F" else 1 / 257)
        image = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if image.mode in ("LA", "RGBA"):
        checker = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(checker, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, lines: int) -> list[str]:
    words, out, line = text.split(" "), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
            continue
        out.append(line)
        line = word
        if len(out) == lines:
            break
    if len(out) < lines and line:
        out.append(line)
    if len(out) == lines and " ".join(out) != text:
        last = out[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        out[-1] = last + "…"
    return out


def save_sheet(image: Image.Image, path: str | Path, storage_options: dict | None = None) -> None:
    """Encode the sheet by ``path``'s extension and put it there as a new file
    (``outdir.replace_file``): never written into an existing file, which may
    be a hard link to a source image. A URL gets it as one PUT (``augcli.storage``)."""
    if is_url(str(path)):
        from .storage.commands import write_sheet

        return write_sheet(image, str(path), storage_options or {})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    image.save(buffer, Image.registered_extensions()[Path(path).suffix.lower()])
    replace_file(path, buffer.getvalue())


def sheet(rows: list[Row], tile: int = TILE) -> Image.Image:
    """Lay rows out as a labelled grid: equal tiles, aspect kept, a header row."""
    font, small = _font(14), _font(12)
    pad, label_h, header_h, row_label_h = 10, LABEL_LINES * 15 + 6, 26, 20
    columns = max((len(r.tiles) for r in rows), default=1)
    width = pad + columns * (tile + pad)
    row_h = row_label_h + tile + label_h + pad
    canvas = Image.new("RGB", (width, header_h + len(rows) * row_h + pad), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for c in range(columns):
        title = "original" if c == 0 else f"aug {c}"
        draw.text((pad + c * (tile + pad) + 2, 6), title, fill=INK, font=font)
    for r, row in enumerate(rows):
        top = header_h + r * row_h
        draw.text((pad + 2, top + 2), row.label, fill=INK, font=font)
        for c, item in enumerate(row.tiles):
            left = pad + c * (tile + pad)
            box_top = top + row_label_h
            draw.rectangle((left, box_top, left + tile - 1, box_top + tile - 1), fill=(255, 255, 255))
            thumb = _display(item.image)
            thumb.thumbnail((tile, tile), Image.Resampling.LANCZOS)
            canvas.paste(thumb, (left + (tile - thumb.width) // 2, box_top + (tile - thumb.height) // 2))
            for i, line in enumerate(_wrap(draw, item.caption, small, tile - 4, LABEL_LINES)):
                draw.text((left + 2, box_top + tile + 3 + i * 15), line, fill=MUTED if c == 0 else INK, font=small)
    return canvas


def preview(src: str | Path, recipe: Recipe | str | Path, *, images: int = 6, variants: int = 4,
            seed: int | None = None, layout: str | None = None) -> Image.Image:
    """The contact sheet of ``recipe`` on ``src`` as a PIL image (the Python API)."""
    if not isinstance(recipe, Recipe):
        recipe = Recipe.load(recipe)
    return sheet(preview_rows(src, recipe, images=images, variants=variants, seed=seed, layout=layout))

