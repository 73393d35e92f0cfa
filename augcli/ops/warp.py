"""One affine or projective resample on OpenCV, with numpy/scikit-image border semantics.

``cv2.warpAffine`` / ``cv2.warpPerspective`` sample every output pixel from the
input through the inverse map, and their border modes are exactly numpy's pad
modes under other names (the table below), so no padding canvas is needed: a
sample that straddles the border blends real pixels with the fill, as
``skimage.transform.warp`` does. OpenCV 5 interpolates in floating point (4.x
quantised positions to 1/32 pixel, up to 5 levels off on sharp edges), so
bilinear outputs are within half a level of the exact value.

Coordinates are pixel-centre: pixel (x, y) covers [x-0.5, x+0.5]; the image
centre is ((w-1)/2, (h-1)/2). OpenCV uses the same convention.
"""
from __future__ import annotations

from ..imaging import cv_scalar, fill_values, has_alpha, hwc, opaque, pil_compatible, premultiplied, to_range
from ..lazy import lazy, opencv

np = lazy("numpy")
Image = lazy("PIL.Image")

FILL_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")

# numpy.pad / skimage name -> OpenCV border mode (SPEC section 2's table)
_BORDERS = {
    "constant": "BORDER_CONSTANT",
    "edge": "BORDER_REPLICATE",  # aaa|abcd
    "reflect": "BORDER_REFLECT_101",  # dcb|abcd
    "symmetric": "BORDER_REFLECT",  # dcba|abcd
    "wrap": "BORDER_WRAP",  # bcd|abcd
}
_INTERPOLATION_FLAGS = {"nearest": "INTER_NEAREST", "bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC"}
_TIE_BREAK = 2.0**-10  # pixels: above float32 rounding for sides up to ~16,000 px


def opencv_interpolation(interpolation: str) -> int:
    """OpenCV's flag for one of ``INTERPOLATIONS`` (warps and ``remap``)."""
    return getattr(opencv(), _INTERPOLATION_FLAGS[interpolation])


def resampling_filter(interpolation: str):
    """Pillow's filter for one of ``INTERPOLATIONS`` (resize and crops use Pillow)."""
    return Image.Resampling[interpolation.upper()]


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def about_centre(linear: np.ndarray, size: tuple[int, int], out_size: tuple[int, int] | None = None) -> np.ndarray:
    """A 2x2 linear map applied about the image centre, as a 3x3 forward matrix
    (input centre goes to the output centre)."""
    w, h = size
    ow, oh = out_size or size
    m = np.eye(3)
    m[:2, :2] = linear
    return translation((ow - 1) / 2, (oh - 1) / 2) @ m @ translation(-(w - 1) / 2, -(h - 1) / 2)


@pil_compatible
def pad(img: np.ndarray, left: int, top: int, right: int, bottom: int, fill: str, cval: float) -> np.ndarray:
    """Extend ``img`` by the given margins, filling like ``numpy.pad(mode=fill)``
    (margins of any size); ``constant`` uses ``cval`` for colour and 0 for alpha.
    Pixels are copied, never mixed, so nothing is premultiplied."""
    cv2 = opencv()
    pixels = img.astype(np.float64) if img.dtype == np.int32 else img  # OpenCV has no 32-bit integer pads
    out = cv2.copyMakeBorder(pixels, top, bottom, left, right, getattr(cv2, _BORDERS[fill]),
                             value=cv_scalar(fill_values(img, cval)))
    return _back(out, img)


def _snap(matrix: np.ndarray) -> np.ndarray:
    """Round entries within 1e-9 of an integer (cos 90 deg is 6e-17), so quarter
    turns and flips sample exact pixel centres."""
    nearest = np.round(matrix)
    return np.where(np.abs(matrix - nearest) < 1e-9, nearest, matrix)


@pil_compatible
def warp(
    img: np.ndarray,
    forward: np.ndarray,
    out_size: tuple[int, int],
    *,
    fill: str = "constant",
    cval: float = 0,
    interpolation: str = "bilinear",
) -> np.ndarray:
    """Resample ``img`` so that output pixel ``forward @ p`` shows input pixel ``p``
    (``forward`` is a 3x3 affine or projective matrix).

    Pixels beyond the border are filled like ``numpy.pad(mode=fill)``; ``constant``
    uses ``cval`` (0..255 scale) for colour and 0 (transparent) for alpha. Bicubic
    is OpenCV's (Keys, a = -0.75). RGBA and LA are resampled premultiplied unless
    the interpolation is nearest, so fully transparent pixels come out as
    transparent black and colours never bleed out of transparent areas.
    """
    cv2 = opencv()
    inverse = _snap(np.linalg.inv(_snap(forward)))
    if interpolation == "nearest":
        # a pixel covers [x - 0.5, x + 0.5): a sample exactly halfway between two
        # pixels takes the right/lower one, as Pillow does, instead of whichever
        # side OpenCV's float32 coordinates happen to round to
        inverse = translation(_TIE_BREAK, _TIE_BREAK) @ inverse
    flags = opencv_interpolation(interpolation) | cv2.WARP_INVERSE_MAP

    def run(pixels: np.ndarray, premultiplied: bool) -> np.ndarray:
        # premultiplied, a transparent fill is 0 in every band whatever cval says
        border = (0.0,) * 4 if premultiplied else cv_scalar(fill_values(img, cval))
        kwargs = dict(flags=flags, borderMode=getattr(cv2, _BORDERS[fill]), borderValue=border)
        if np.array_equal(inverse[2], [0.0, 0.0, 1.0]):
            return cv2.warpAffine(pixels, inverse[:2], tuple(out_size), **kwargs)
        return cv2.warpPerspective(pixels, inverse, tuple(out_size), **kwargs)

    return resample(img, interpolation, run, fills_transparent=fill == "constant")


def resample(img: np.ndarray, interpolation: str, run, *, fills_transparent: bool = False) -> np.ndarray:
    """``run(pixels, premultiplied) -> pixels`` on ``img``'s pixels in a type
    OpenCV resamples, and the result back in ``img``'s dtype, in range. RGBA and
    LA go premultiplied unless the interpolation is nearest (Pillow's rule), or
    unless every pixel is opaque and nothing transparent comes in from beyond
    the border (``fills_transparent``): then premultiplying changes nothing and
    the 8-bit path gives exactly the bytes of the image without alpha."""
    if has_alpha(img) and interpolation != "nearest" and (fills_transparent or not opaque(img)):
        return premultiplied(img, lambda work: hwc(run(work, True)))
    if img.dtype == np.uint8 and img.shape[2] == 3:
        # OpenCV resamples 4 channels of 8 bits twice as fast as 3 (its SIMD paths
        # take whole pixels of 4 bytes): a fourth channel in and out costs a tenth
        # of that, and the three channels come out the same
        cv2 = opencv()
        return cv2.cvtColor(run(cv2.cvtColor(img, cv2.COLOR_RGB2RGBA), False), cv2.COLOR_RGBA2RGB)
    pixels = img.astype(np.float64) if img.dtype == np.int32 else img  # OpenCV does not resample 32-bit integers
    return _back(run(pixels, False), img)


def _back(out: np.ndarray, img: np.ndarray) -> np.ndarray:
    """OpenCV's result in ``img``'s dtype: 32-bit integers rounded and clipped to
    their range, floats to 0..1 (bicubic overshoots); 8 and 16 bits OpenCV
    saturates itself."""
    out = hwc(out)
    if img.dtype == np.int32:
        info = np.iinfo(np.int32)
        return np.clip(np.rint(out), info.min, info.max).astype(np.int32)
    if img.dtype.kind == "f":
        return to_range(out, img.dtype)
    return out
