"""Tiny ONNX graphs built in the tests with the ``onnx`` package (no download):
1x1 convolutions that permute or scale channels, whose effect numpy can
compute independently, and graphs that are wrong on purpose."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _save(path: Path, nodes, inputs, outputs, weights) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def mixing(path: Path, matrix, shape=(1, 3, "H", "W"), bias=None) -> Path:
    """A 1x1 convolution: output channel i = sum_j matrix[i][j] * input channel j (+ bias[i])."""
    matrix = np.asarray(matrix, np.float32)
    weights = [numpy_helper.from_array(matrix.reshape(*matrix.shape, 1, 1), "W")]
    names = ["x", "W"]
    if bias is not None:
        weights.append(numpy_helper.from_array(np.asarray(bias, np.float32), "B"))
        names.append("B")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return _save(path, [helper.make_node("Conv", names, ["y"])], [x], [y], weights)


SWAP = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]  # red <-> blue
IDENTITY = np.eye(3).tolist()


def flattening(path: Path) -> Path:
    """A graph whose output is a vector (1 x 3HW), not an image."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return _save(path, [helper.make_node("Flatten", ["x"], ["y"], axis=1)], [x], [y], [])
