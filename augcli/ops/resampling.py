"""The resampling parameters every op that resamples takes: ``fill`` (how
pixels beyond the border are filled), ``cval`` (the constant fill) and
``interpolation``. Declared once here; geometric ops list ``RESAMPLING``,
policies take it with their own default interpolation (``resampling_params``),
and ``apply`` fuses neighbouring ops that agree on ``KEYS``.
"""
from __future__ import annotations

from dataclasses import replace

from .spec import Param
from .warp import FILL_MODES, INTERPOLATIONS

KEYS = ("fill", "cval", "interpolation")

FILL = Param("fill", "enum", "constant", choices=FILL_MODES,
             doc="how pixels beyond the border are filled (numpy.pad names)")
CVAL = Param("cval", "float", 0.0, 0, 255, doc="constant fill value on the 0..255 scale (alpha is filled with 0)")
INTERPOLATION = Param("interpolation", "enum", "bilinear", choices=INTERPOLATIONS, doc="resampling filter")
RESAMPLING = (FILL, CVAL, INTERPOLATION)


def resampling_params(*, interpolation: str, fill_doc: str, cval_doc: str, interpolation_doc: str) -> tuple[Param, ...]:
    """``RESAMPLING`` with another default interpolation and docs in an op's own words
    (a policy's nearest, as torchvision's)."""
    return (replace(FILL, doc=fill_doc), replace(CVAL, doc=cval_doc),
            replace(INTERPOLATION, default=interpolation, doc=interpolation_doc))


def resampling(params: dict) -> dict:
    """The (fill, cval, interpolation) of an op's params, as ``warp`` takes them."""
    return {k: params[k] for k in KEYS}
