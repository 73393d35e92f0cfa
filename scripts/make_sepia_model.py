"""Build examples/sepia.onnx: a 1x1 convolution that mixes the colour channels
into sepia tones, the smallest image-to-image model there is. It stands in
for a style-transfer network in the README's onnx example (needs the onnx
package: pip install onnx)."""
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]

weights = numpy_helper.from_array(np.array(SEPIA, np.float32).reshape(3, 3, 1, 1), "W")
graph = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"])], "sepia",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weights])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
out = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sepia.onnx"
out.write_bytes(model.SerializeToString())
print(f"wrote {out}")
