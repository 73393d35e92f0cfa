"""The declared input shape of an ONNX model, read from the file's protobuf.

OpenCV's DNN module runs a model on whatever blob it is given, even one whose
shape contradicts the model's declared input, so the ``onnx`` op reads the
declaration itself to refuse a mismatch with one clear line. Only the few
fields on the way are decoded (ModelProto.graph -> GraphProto.input ->
ValueInfoProto.type -> TypeProto.tensor_type -> TensorShapeProto.dim), by the
protobuf wire format: no ONNX package is needed at run time.
"""
from __future__ import annotations

# field numbers from onnx.proto
_MODEL_GRAPH = 7
_GRAPH_INPUT, _GRAPH_INITIALIZER = 11, 5
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR = 1
_TENSOR_SHAPE = 2
_SHAPE_DIM = 1
_DIM_VALUE, _DIM_PARAM = 1, 2
_TENSOR_NAME = 8


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated protobuf")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes):
    """(field number, value) of each field of one message: ints for varints,
    bytes for length-delimited fields; fixed-width fields are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


def _first(data: bytes, number: int):
    return next((value for n, value in _fields(data) if n == number), None)


def input_shape(model: bytes) -> tuple[int | str | None, ...] | None:
    """The declared shape of the model's first real input (an input that is
    not a weight): each dimension a number, a symbolic name, or None when
    undeclared; None when the file declares no shape."""
    graph = _first(model, _MODEL_GRAPH)
    if not isinstance(graph, bytes):
        return None
    weights = {_first(t, _TENSOR_NAME) for n, t in _fields(graph) if n == _GRAPH_INITIALIZER}
    for number, value in _fields(graph):
        if number != _GRAPH_INPUT or _first(value, _VALUE_NAME) in weights:
            continue
        tensor = _first(_first(value, _VALUE_TYPE) or b"", _TYPE_TENSOR)
        shape = _first(tensor or b"", _TENSOR_SHAPE)
        if shape is None:
            return None
        dims = []
        for n, dim in _fields(shape):
            if n == _SHAPE_DIM:
                fixed, named = _first(dim, _DIM_VALUE), _first(dim, _DIM_PARAM)
                dims.append(fixed if fixed is not None else named.decode("utf-8", "replace") if named else None)
        return tuple(dims)
    return None
