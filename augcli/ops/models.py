"""Model-based ops: ``onnx`` runs an image-to-image ONNX model (a fast neural
style transfer network, say) through OpenCV's DNN module, already a
dependency, on the augmented image.

The model file is checked once, when the recipe is validated (``prepare``):
it must exist, load, declare an input the configured size fits, and give an
image back; its sha256 is written into the step, so it is in the normalised
recipe (``augcli.json``), in every manifest record, and in the recipe hash
that ``--resume`` compares; ``replay`` and ``--resume`` refuse another file.
Each worker loads a model once (cached by path and sha256, per thread: a
``cv2.dnn.Net`` is not shared between threads) and runs it single-threaded,
like every OpenCV call in augcli: ``-j N`` workers use the N cores.

The math is on float arrays (H, W, C), made a kernel by ``adapt.colour_kernel``.
"""
from __future__ import annotations

import hashlib
import math
import threading
from typing import Any

from ..lazy import lazy, opencv
from .adapt import colour_kernel
from .onnx_graph import input_shape
from .registry import register
from .spec import Kind, OpSpec, Param, kind, plain_number

np = lazy("numpy")

PROBE_SIZE = (64, 64)  # what a model with a free input size is tried on at validation


@kind
class _Text(Kind):
    """A non-empty string: a file path, a hash."""

    name, label, shows_bounds = "text", "text", False

    def allowed(self, param: Param) -> str:
        return "a non-empty string" + (" or null" if param.nullable else "")

    def valid(self, param: Param, value: Any) -> bool:
        return isinstance(value, str) and value.strip() != ""

    def schema(self, param: Param) -> dict[str, Any]:
        return {"type": "string", "minLength": 1}


@kind
class _Triple(Kind):
    """Three numbers, one per colour channel (R, G, B), or one number for all three."""

    name, label, list_valued = "triple", "[r, g, b] or x", True

    def allowed(self, param: Param) -> str:
        bounds = f" from {plain_number(param.lo)}" if param.lo is not None else ""
        bounds += f" to {plain_number(param.hi)}" if param.hi is not None else ""
        return f"three numbers [r, g, b]{bounds}, or one number for all three"

    def valid(self, param: Param, value: Any) -> bool:
        values = value if isinstance(value, (list, tuple)) else [value]
        return len(values) == (3 if isinstance(value, (list, tuple)) else 1) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and param.within(v)
            for v in values)

    def normalise(self, value: Any) -> Any:
        # one number stays one (numpy broadcasts it over the channels, as the default)
        return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else float(value)

    def schema(self, param: Param) -> dict[str, Any]:
        number = {"type": "number"}
        if param.lo is not None:
            number["minimum"] = param.lo
        return {"anyOf": [number, {"type": "array", "items": number, "minItems": 3, "maxItems": 3}]}


# -- loading, once per worker ---------------------------------------------------------------

_NETS = threading.local()  # (path, sha256) -> cv2.dnn.Net, per thread


def read_model(path: str) -> tuple[bytes, str]:
    """The model file's bytes and their sha256."""
    with open(path, "rb") as handle:
        data = handle.read()
    return data, hashlib.sha256(data).hexdigest()


def _load(data: bytes):
    cv2 = opencv()  # one thread: -j N workers already use the cores
    net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    return net


def net_for(path: str, sha256: str | None):
    """The loaded model at ``path``, which must still hash to ``sha256``; loaded
    once per thread and kept."""
    cache = _NETS.__dict__.setdefault("nets", {})
    net = cache.get((path, sha256))
    if net is None:
        data, digest = read_model(path)
        if sha256 is not None and digest != sha256:
            raise ValueError(f"model file {path} has changed: its sha256 is {digest[:12]}..., the recorded one "
                             f"{sha256[:12]}...")
        net = cache[(path, digest)] = _load(data)
    return net


def _cv_message(exc: Exception) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text.split(" error: ", 1)[-1].strip()[:200]


# -- the op ------------------------------------------------------------------------------------


def to_blob(rgb: np.ndarray, *, scale: float, mean, std, order: str) -> np.ndarray:
    """(H, W, 3) float values on the 0..255 scale -> the model's (1, 3, H, W)
    input: ``(x * scale - mean) / std`` per channel, in ``order``."""
    x = (rgb * scale - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    if order == "bgr":
        x = x[..., ::-1]
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def from_blob(blob: np.ndarray, *, scale: float, mean, std, order: str) -> np.ndarray:
    """The model's (1, C, H, W) output -> (H, W, 3) on the 0..255 scale: the
    input's normalisation undone (a one-channel output is grey)."""
    y = blob[0].transpose(1, 2, 0).astype(np.float32)
    if y.shape[2] == 1:
        y = np.repeat(y, 3, axis=2)
    if order == "bgr":
        y = y[..., ::-1]
    return (y * np.asarray(std, np.float32) + np.asarray(mean, np.float32)) / scale


def run_model(rgb: np.ndarray, net, *, size, scale, mean, std, order) -> np.ndarray:
    """The model's picture of ``rgb`` ((H, W, 3) float, 0..255), resized to
    the model's input ``size`` (w, h; None: as it is) and its output back."""
    cv2 = opencv()
    h, w = rgb.shape[:2]
    x = rgb if size is None or tuple(size) == (w, h) else cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA)
    net.setInput(to_blob(x, scale=scale, mean=mean, std=std, order=order))
    y = from_blob(net.forward(), scale=scale, mean=mean, std=std, order=order)
    if y.shape[:2] != (h, w):
        y = cv2.resize(y, (w, h), interpolation=cv2.INTER_LINEAR)
    return y


def stylise(colour: np.ndarray, net, *, strength: float, **norm) -> np.ndarray:
    """(H, W, C) colour values on the 0..255 scale (C = 1 or 3) -> the blend
    ``(1 - strength) * x + strength * model(x)``, same shape, float. Grey goes
    in as three equal channels and comes back as ITU-R 601-2 luma."""
    grey = colour.shape[2] == 1
    rgb = np.repeat(colour, 3, axis=2) if grey else colour
    styled = run_model(rgb, net, **norm)
    if grey:
        styled = (styled @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    return styled if strength == 1 else (1 - strength) * colour + strength * styled


def _onnx_array(colour, top, *, model: str, sha256: str | None, size, scale: float, mean, std, order: str,
                strength: float):
    """The image's colour channels through the model (values scaled to 0..255 for it and back)."""
    net = net_for(model, sha256)
    out = stylise(colour.astype(np.float32) * np.float32(255.0 / top), net, strength=strength, size=size,
                  scale=scale, mean=mean, std=std, order=order) * np.float32(top / 255.0)
    if colour.dtype.kind == "f":
        return np.clip(out, 0, top).astype(colour.dtype)
    return np.clip(np.rint(out), 0, top).astype(colour.dtype)


onnx = colour_kernel(_onnx_array)


def prepare(values: dict) -> tuple[dict, list[tuple[str, str]]]:
    """At validation: the model file exists, loads, takes the configured input
    and gives an image; returns its sha256 to record."""
    model = values.get("model")
    if not isinstance(model, str):
        return {}, [("model", "the model is one fixed file path, not a range or a choice (to pick among models, "
                              "put one onnx step per model in a one_of)")]
    try:
        data, digest = read_model(model)
    except FileNotFoundError:
        return {}, [("model", f"model file {model} not found (a relative path is read from the folder augcli runs "
                              "in; augcli never downloads models)")]
    except OSError as exc:
        return {}, [("model", f"cannot read model file {model}: {exc.strerror or exc}")]
    given = values.get("sha256")
    if given is not None and given != digest:
        return {}, [("sha256", f"model file {model} has sha256 {digest[:12]}..., not {given[:12]}...: the file "
                               "has changed since this recipe was written")]
    size = values.get("size")
    problem = _input_problem(model, data, size)
    if problem:
        return {}, [("size" if "size" in problem else "model", problem)]
    try:
        net = _load(data)
    except Exception as exc:  # cv2.error, and whatever a malformed buffer raises
        return {}, [("model", f"{model} is not an ONNX model OpenCV can read: {_cv_message(exc)}")]
    # a drawn value (a scale range) is tried at its parameter's default
    norm = {k: values.get(k, default) for k, default in (("scale", 1.0), ("mean", 0.0), ("std", 1.0), ("order", "rgb"))}
    w, h = size or PROBE_SIZE
    try:
        net.setInput(to_blob(np.zeros((h, w, 3), np.float32), **norm))
        out = net.forward()
    except Exception as exc:
        return {}, [("model", f"{model} does not run on a 1x3x{h}x{w} input: {_cv_message(exc)}")]
    if out.ndim != 4 or out.shape[0] != 1 or out.shape[1] not in (1, 3) or min(out.shape[2:]) < 1:
        return {}, [("model", f"{model} gives an output of shape {'x'.join(map(str, out.shape))}, which is not an "
                              "image (1x3xHxW or 1x1xHxW)")]
    _NETS.__dict__.setdefault("nets", {})[(model, digest)] = net  # this process need not load it again
    return {"sha256": digest}, []


def _input_problem(model: str, data: bytes, size) -> str | None:
    """What is wrong between the model's declared input and ``size``, or None."""
    try:
        shape = input_shape(data)
    except (ValueError, IndexError):
        return None  # not protobuf: loading it says so
    if shape is None:
        return None
    shown = "x".join("?" if d is None or isinstance(d, str) else str(d) for d in shape)
    if len(shape) != 4 or shape[1] not in (3, None) and not isinstance(shape[1], str) \
            or isinstance(shape[0], int) and shape[0] != 1:
        return f"{model} takes an input of shape {shown}; the onnx op gives a 1x3xHxW image (N, channels, H, W)"
    fixed = [d if isinstance(d, int) else None for d in shape[2:]]
    if fixed[0] is not None and fixed[1] is not None:
        want = (fixed[1], fixed[0])
        if size is None:
            return f"{model} takes a fixed {want[0]}x{want[1]} input: set size: [{want[0]}, {want[1]}]"
        if tuple(size) != want:
            return f"size {list(size)} does not fit {model}, which takes a fixed {want[0]}x{want[1]} input"
    return None


register(OpSpec(
    "onnx", onnx,
    params=(
        Param("model", "text", doc="path of an image-to-image .onnx model (you download it; augcli never does)"),
        Param("strength", "float", 1.0, 0, 1, doc="blend of the model's output with its input: 1 = the output"),
        Param("size", "pair", None, nullable=True, doc="the model's input [w, h]; null: the image's own size"),
        Param("scale", "float", 1.0, 0.0001, 10000, doc="input = (x * scale - mean) / std, x on the 0..255 scale"),
        Param("mean", "triple", 0.0, doc="per channel [r, g, b], subtracted after scale"),
        Param("std", "triple", 1.0, 1e-6, doc="per channel [r, g, b], divided by after mean"),
        Param("order", "enum", "rgb", choices=("rgb", "bgr"), doc="channel order the model takes and gives"),
        Param("sha256", "text", None, nullable=True, doc="the model file's sha256: filled in when the recipe is "
                                                          "validated; a given one must match the file"),
    ),
    doc="Run an image-to-image ONNX model (e.g. fast neural style) via OpenCV DNN; its output is un-normalised "
        "and blended.",
    category="model", prepare=prepare, example="- onnx: {model: models/mosaic-9.onnx, strength: [0.5, 1]}",
))
