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

from .imaging import from_pil, mode_of, size_of, to_pil, to_range
from .lazy import opencv
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
    image: np.ndarray  # a working array (augcli.imaging); no kernel writes into it
    format: str
    rotated: bool  # EXIF orientation changed the pixels
    icc_profile: bytes | None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return size_of(self.image)


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
            # Pillow decodes, OpenCV could in half the time (the same libjpeg-turbo, the
            # same pixels for sound files), but it accepts JPEGs Pillow refuses as broken
            # and prints libjpeg's warnings on the terminal: a corrupt source would be
            # augmented instead of skipped with its reason
            img.seek(0)
            img.load()
            icc = img.info.get("icc_profile")
            orientation = img.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(img) if orientation != 1 else img
            return Decoded(from_pil(upright), fmt, orientation not in (1, None), icc)
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


def fit_mode(img: np.ndarray, fmt: str, background: float = 0) -> tuple[np.ndarray, str | None]:
    """Convert ``img`` into a mode ``fmt`` can hold; return it and a note of what changed."""
    holds = _HOLDS[fmt]
    mode = mode_of(img)
    if mode in holds:
        return img, None
    if mode == "I" and "I;16" in holds:
        return _as_16_bit(img, fmt)
    if mode in ("I;16", "I", "F", "RGBF"):
        # keep the full range: 65535 -> 255 (float images are 0..1)
        eight = to_range(img.astype(np.float64) * (255.0 if img.dtype.kind == "f" else 1 / 257), np.uint8)
        if eight.shape[2] == 1 and "L" not in holds:
            eight = np.repeat(eight, 3, axis=2)
        return eight, f"{mode} image reduced to 8-bit for {fmt}"
    if mode in ("LA", "RGBA"):
        grey = int(round(min(max(background, 0), 255)))
        flat = to_pil(img).convert("RGBA")
        flat = Image.alpha_composite(Image.new("RGBA", flat.size, (grey, grey, grey, 255)), flat)
        flat = flat.convert(mode[:-1])
        flat = flat if flat.mode in holds else flat.convert("RGB")
        return from_pil(flat), f"alpha composited on background {background:g} (output.background) for {fmt}"
    return np.repeat(img, 3, axis=2), None  # L for WEBP: a lossless widening


def _as_16_bit(img: np.ndarray, fmt: str) -> tuple[np.ndarray, str | None]:
    """32-bit integers as 16-bit, the deepest grey ``fmt`` holds: exact when the
    values fit, clipped to 0..65535 (and said so) when they do not."""
    lo, hi = int(img.min()), int(img.max())
    note = None if 0 <= lo and hi <= 65535 else f"32-bit values {lo}..{hi} clipped to 0..65535 for 16-bit {fmt}"
    return np.clip(img, 0, 65535).astype(np.uint16), note


def _opencv_jpeg(img: np.ndarray, quality: int) -> bytes:
    """JPEG through OpenCV's ``imencode``: the same libjpeg-turbo settings as
    Pillow's ``save`` (baseline, 4:2:0, no optimisation; the bytes are identical,
    ``test_jpeg_bytes_are_pillows``) at two thirds of its time, with no
    conversion to a Pillow image. Pillow writes JPEGs that carry an ICC profile."""
    cv2 = opencv()
    pixels = img if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {img.shape[1]}x{img.shape[0]} image as JPEG")
    return encoded.tobytes()


def encode(img: np.ndarray, fmt: str, *, quality: int = 95, icc_profile: bytes | None = None,
           background: float = 0) -> tuple[bytes, np.ndarray, str | None]:
    """Encode a working array to ``fmt``; return the bytes, the array as written
    (after ``fit_mode``) and a conversion note."""
    img, note = fit_mode(img, fmt, background)
    if fmt == "JPEG" and not icc_profile:
        return _opencv_jpeg(img, quality), img, note
    options: dict = {}
    if fmt == "JPEG":
        options = {"quality": quality}
    elif fmt == "WEBP":
        options = {"quality": quality, "method": 4}
    elif fmt == "TIFF":
        options = {"compression": "tiff_lzw"}
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF") and mode_of(img) in ("RGB", "RGBA"):
        options["icc_profile"] = icc_profile
    buffer = io.BytesIO()
    to_pil(img).save(buffer, fmt, **options)
    return buffer.getvalue(), img, note
