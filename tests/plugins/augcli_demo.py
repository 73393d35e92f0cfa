"""augcli-demo, the plugin the tests install: one op, ``swap_rb``, which blends
an image with itself with red and blue swapped (``amount`` 0 = unchanged, 1 =
swapped), registered with augcli's own helpers. Alpha and grey are untouched."""
from augcli.lazy import lazy
from augcli.ops.adapt import colour_kernel
from augcli.ops.registry import register
from augcli.ops.spec import OpSpec, Param

np = lazy("numpy")


def swap(colour, top, *, amount):
    """(H, W, C) colour values -> the same, red and blue blended toward swapped."""
    if colour.shape[2] != 3:
        return colour.copy()
    out = colour.astype(np.float64)
    out[..., [0, 2]] = (1 - amount) * out[..., [0, 2]] + amount * out[..., [2, 0]]
    return np.clip(np.rint(out), 0, top).astype(colour.dtype)


register(OpSpec(
    "swap_rb", colour_kernel(swap),
    params=(Param("amount", "float", lo=0, hi=1, doc="0 = unchanged, 1 = red and blue swapped"),),
    doc="Blend red and blue toward swapped.", example="- swap_rb: {amount: [0.5, 1]}",
))
