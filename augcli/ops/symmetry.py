"""The eight symmetries of the rectangle (flips, quarter turns, transposes):
exact pixel permutations, each one OpenCV call that makes a new contiguous
array. Named by the linear part of the forward map (x right, y down) as a
flat 4-tuple, the form ``apply`` reads off a fused run of exact ops.
"""
from __future__ import annotations

from ..imaging import hwc
from ..lazy import lazy, opencv

np = lazy("numpy")


def turned(img: np.ndarray, linear) -> np.ndarray:
    """``img`` under one of the eight symmetries of the rectangle, named by the
    linear part of its forward map (x right, y down) as a flat 4-tuple: one
    OpenCV flip, rotate or transpose, a new contiguous array."""
    cv2 = opencv()
    linear = tuple(int(v) for v in linear)
    if linear == (1, 0, 0, 1):
        return img.copy()
    how = _SYMMETRIES[linear]
    if how == "transpose":
        out = cv2.transpose(img)
    elif how == "transverse":
        out = cv2.rotate(cv2.transpose(img), cv2.ROTATE_180)
    elif how[0] == "flip":
        out = cv2.flip(img, how[1])
    else:
        out = cv2.rotate(img, getattr(cv2, how[1]))
    return hwc(out)


_SYMMETRIES = {
    (-1, 0, 0, 1): ("flip", 1),
    (1, 0, 0, -1): ("flip", 0),
    (-1, 0, 0, -1): ("flip", -1),
    (0, 1, -1, 0): ("rotate", "ROTATE_90_COUNTERCLOCKWISE"),  # as rot90 k=1
    (0, -1, 1, 0): ("rotate", "ROTATE_90_CLOCKWISE"),
    (0, 1, 1, 0): "transpose",
    (0, -1, -1, 0): "transverse",
}


def symmetry_forward(linear: tuple, size) -> np.ndarray:
    """The forward map of a symmetry on an image of ``size``: its linear part,
    and the shift that keeps the result on [0, w') x [0, h')."""
    w, h = size
    matrix = np.array(linear, float).reshape(2, 2)
    corners = matrix @ np.array([[0, w - 1, 0, w - 1], [0, 0, h - 1, h - 1]], float)
    forward = np.eye(3)
    forward[:2, :2] = matrix
    forward[:2, 2] = -corners.min(axis=1)
    return forward
