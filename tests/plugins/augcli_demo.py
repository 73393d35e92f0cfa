"""augcli-demo, the plugin the tests install: one op, ``swap_rb``, which blends
an image with itself with red and blue swapped (``amount`` 0 = unchanged, 1 =
swapped), registered with augcli's own helper. Alpha and grey are untouched."""
from augcli.lazy import lazy
from augcli.ops.registry import register
from augcli.ops.spec import OpSpec, Param

np = lazy("numpy")
Image = lazy("PIL.Image")


def swap(arr, amount):
    """(H, W, C) uint8 -> the same, red and blue blended toward swapped."""
    if arr.shape[2] < 3:
        return arr.copy()
    out = arr.astype(np.float64)
    out[..., [0, 2]] = (1 - amount) * out[..., [0, 2]] + amount * out[..., [2, 0]]
    return np.clip(np.rint(out), 0, 255).astype(arr.dtype)


def swap_rb(img, *, amount):
    if isinstance(img, np.ndarray):
        return swap(img, amount)
    arr = np.asarray(img)
    out = swap(arr[..., None] if arr.ndim == 2 else arr, amount)
    return Image.fromarray(out[..., 0] if arr.ndim == 2 else out)


register(OpSpec(
    "swap_rb", swap_rb, params=(Param("amount", "float", lo=0, hi=1, doc="0 = unchanged, 1 = red and blue swapped"),),
    doc="Blend red and blue toward swapped.", example="- swap_rb: {amount: [0.5, 1]}",
))
