"""The onnx op per image against the same cv2.dnn forward pass in a bare
script (issue 26's target: at most 1.1x). The model is built here with the
onnx package (pip install onnx): five 3x3 convolutions, 3 -> 32 -> 32 -> 32 ->
32 -> 3 channels, the shape of a small style network, run on 256x256 images.
Both sides are single-threaded and alternate image by image, so a machine
whose speed drifts slows both; the ratio of the medians is printed.

    python benchmarks/onnx_op.py [--images 40] [--size 256]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from augcli.ops import REGISTRY
from augcli.recipe import Recipe


def style_like_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    channels = [3, 32, 32, 32, 32, 3]
    nodes, weights, previous = [], [], "x"
    for i, (cin, cout) in enumerate(zip(channels, channels[1:])):
        weights.append(numpy_helper.from_array((rng.normal(0, 0.1, (cout, cin, 3, 3))).astype(np.float32), f"w{i}"))
        out = f"c{i}" if i < len(channels) - 2 else "y"
        nodes.append(helper.make_node("Conv", [previous, f"w{i}"], [out], pads=[1, 1, 1, 1]))
        if i < len(channels) - 2:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            out = f"r{i}"
        previous = out
    graph = helper.make_graph(nodes, "style", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], weights)
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as folder:
        model = str(style_like_model(Path(folder) / "style.onnx"))
        step = Recipe.from_dict({"pipeline": [{"onnx": {"model": model}}]}).pipeline[0]
        params = {name: value.value for name, value in step.params}
        bare = cv2.dnn.readNetFromONNX(model)
        kernel = REGISTRY["onnx"].kernel
        rng = np.random.default_rng(1)
        images = [rng.integers(0, 256, (args.size, args.size, 3), np.uint8) for _ in range(args.images)]
        ours, theirs = [], []
        for arr in images:
            img = Image.fromarray(arr)
            start = time.perf_counter()
            kernel(img, **params)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare.setInput(cv2.dnn.blobFromImage(arr, swapRB=False))
            bare.forward()
            theirs.append(time.perf_counter() - start)
    a, b = statistics.median(ours[2:]), statistics.median(theirs[2:])
    print(f"onnx op {a * 1000:.1f} ms/image, bare cv2.dnn forward {b * 1000:.1f} ms/image: {a / b:.3f}x "
          f"({args.images} images of {args.size}x{args.size}, one thread)")


if __name__ == "__main__":
    main()
