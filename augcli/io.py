"""Reading and writing image files: the only module that touches pixels on disk.

* ``sniff`` names a file's format from its first bytes (the content, not the
  extension, decides).
* ``decode`` applies EXIF orientation, takes the first frame, guards against
  decompression bombs and normalises the pixel mode; any file it cannot use
  raises ``Unusable`` with a one-line reason, which becomes a skip record.
* ``encode`` converts to what the target format can hold, noting what changed.
* ``EXTENSIONS`` is the one format table: the plan names files from it, and
  ``written_format`` reads a written file's format back from its name (replay).
  ``Encoding`` is how one output is finished and encoded (``augcli.render``).

Writing into OUT (temporary name, atomic rename, no links followed) is
``augcli.outdir``'s job.
"""
from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from .imaging import normalize, to_mode_range
from .limits import DEFAULT_MAX_PIXELS
from .outdir import TEMP_MARK, is_temp  # noqa: F401  (where callers have always found them)

_PILLOW_LIMIT = threading.Lock()  # Image.MAX_IMAGE_PIXELS is global; the threading backend shares it

# Formats by their magic bytes; ext is the canonical extension we write.
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
)
EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
    "TIFF": (".tif", ".tiff"),
    "GIF": (".gif",),
}
IMAGE_EXTENSIONS = frozenset(e for exts in EXTENSIONS.values() for e in exts)


def format_named(name: str) -> str:
    """Pillow's name of a format as a recipe writes it (``jpeg`` -> ``JPEG``)."""
    return {fmt.lower(): fmt for fmt in EXTENSIONS}[name]


def written_format(path: str) -> str | None:
    """The format augcli writes a file of this name in, by its extension (None:
    not one augcli writes)."""
    suffix = PurePosixPath(path).suffix.lower()
    return next((fmt for fmt in _HOLDS if suffix in EXTENSIONS[fmt]), None)


@dataclass(frozen=True)
class Encoding:
    """How one output is finished and written: resized to ``size`` by ``fit``
    (stretch, cover or contain, bars of ``background``), then encoded as
    ``format`` (Pillow's name; None in memory) at ``quality``, transparent
    pixels flattened on ``background`` where the format has no alpha."""

    format: str | None
    quality: int  # no defaults here: a recipe's ``Output`` holds them, and ``of`` copies them
    size: tuple[int | None, int | None] | None
    fit: str
    background: float

    @classmethod
    def of(cls, output, fmt: str | None = None) -> "Encoding":
        """The encoding a recipe's ``output`` settings give a file in ``fmt``."""
        return cls(fmt, output.quality, output.size, output.fit, output.background)


class Unusable(Exception):
    """A source file that cannot be used; the message is the skip reason."""


def sniff(head: bytes) -> str | None:
    """The image format named by a file's first 16 bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


@dataclass(frozen=True)
class Decoded:
    image: Image.Image
    format: str
    rotated: bool  # EXIF orientation changed the pixels
    icc_profile: bytes | None


def _open(data: bytes) -> Image.Image:
    """``Image.open`` with Pillow's own bomb guard off: ``decode`` applies
    ``max_pixels`` itself, with a message that names the option."""
    with _PILLOW_LIMIT:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """Decode image bytes, upright, first frame, in a working mode."""
    if not data:
        raise Unusable("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF/metadata chatter is not the user's problem
            img = _open(data)
            width, height = img.size
            if max_pixels and width * height > max_pixels:
                raise Unusable(f"{width}x{height} is {width * height:,} pixels, over the limit of "
                               f"{max_pixels:,} (--max-pixels); likely a decompression bomb")
            fmt = img.format
            img.seek(0)
            img.load()
            icc = img.info.get("icc_profile")
            orientation = img.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(img) if orientation != 1 else img
            return Decoded(normalize(upright), fmt, orientation not in (1, None), icc)
    except Unusable:
        raise
    except Image.DecompressionBombError as exc:
        raise Unusable(f"decompression bomb: {exc}") from None
    except Image.UnidentifiedImageError:
        raise Unusable("not a readable image (unknown or corrupt content)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, ZeroDivisionError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise Unusable(f"cannot decode: {reason}") from None


# What each output format can hold; anything else is converted, with a note.
_HOLDS = {
    "JPEG": {"L", "RGB"},
    "PNG": {"L", "LA", "RGB", "RGBA", "I;16"},  # not I: Pillow cannot write 32-bit PNG
    "WEBP": {"RGB", "RGBA"},
    "BMP": {"L", "RGB", "RGBA"},
    "TIFF": {"L", "LA", "RGB", "RGBA", "I;16", "I", "F"},
}


WRITTEN_EXTENSIONS = tuple(ext for fmt in _HOLDS for ext in EXTENSIONS[fmt])  # the names augcli writes


def fit_mode(img: Image.Image, fmt: str, background: float = 0) -> tuple[Image.Image, str | None]:
    """Convert ``img`` into a mode ``fmt`` can hold; return it and a note of what changed."""
    holds = _HOLDS[fmt]
    if img.mode in holds:
        return img, None
    if img.mode == "I" and "I;16" in holds:
        return _as_16_bit(img, fmt)
    if img.mode in ("I;16", "I", "F"):
        # keep the full range: 65535 -> 255 (float images are taken as 0..1)
        arr = np.asarray(img, dtype=np.float64) * (255.0 if img.mode == "F" else 1 / 257)
        eight = Image.fromarray(to_mode_range(arr, "L"))
        return eight if "L" in holds else eight.convert("RGB"), f"{img.mode} image reduced to 8-bit for {fmt}"
    if img.mode in ("LA", "RGBA"):
        grey = int(round(min(max(background, 0), 255)))
        canvas = Image.new("RGBA", img.size, (grey, grey, grey, 255))
        flat = Image.alpha_composite(canvas, img.convert("RGBA")).convert(img.mode[:-1])
        flat = flat if flat.mode in holds else flat.convert("RGB")
        return flat, f"alpha composited on background {background:g} (output.background) for {fmt}"
    return img.convert("RGB"), None  # L for WEBP: a lossless widening


def _as_16_bit(img: Image.Image, fmt: str) -> tuple[Image.Image, str | None]:
    """32-bit integers as 16-bit, the deepest grey ``fmt`` holds: exact when the
    values fit, clipped to 0..65535 (and said so) when they do not."""
    arr = np.asarray(img)
    lo, hi = int(arr.min()), int(arr.max())
    note = None if 0 <= lo and hi <= 65535 else f"32-bit values {lo}..{hi} clipped to 0..65535 for 16-bit {fmt}"
    return Image.fromarray(np.clip(arr, 0, 65535).astype(np.uint16)), note


def encode(img: Image.Image, fmt: str, *, quality: int = 95, icc_profile: bytes | None = None,
           background: float = 0) -> tuple[bytes, Image.Image, str | None]:
    """Encode to ``fmt``; return the bytes, the image as written and a conversion note."""
    img, note = fit_mode(img, fmt, background)
    options: dict = {}
    if fmt == "JPEG":
        options = {"quality": quality}
    elif fmt == "WEBP":
        options = {"quality": quality, "method": 4}
    elif fmt == "TIFF":
        options = {"compression": "tiff_lzw"}
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF") and img.mode in ("RGB", "RGBA"):
        options["icc_profile"] = icc_profile
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue(), img, note
