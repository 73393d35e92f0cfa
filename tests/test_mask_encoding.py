"""Mask output written fast stays exact: the 8-bit grey PNG writer of
layouts/masks.py read back by Pillow (an independent decoder), and the pixel
counts per label value against np.unique, on the paths the fast count takes
and the ones it must fall back from."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from augcli.cli import cli
from augcli.layouts import masks
from augcli.targets import Targets


def _decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()  # Pillow checks the zlib stream and the chunks' CRCs while reading
    return img


def _runs(h: int, w: int, seed: int) -> np.ndarray:
    """A label map: a few rectangles of values on 0, plus one stray pixel of 255."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    for value in rng.integers(1, 7, size=4):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        mask[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = value
    mask[h - 1, w - 1] = 255
    return mask


@pytest.mark.parametrize("shape", [(1, 1), (5, 37), (37, 5), (480, 640)])
def test_grey_png_reads_back_as_the_same_label_map(shape):
    mask = _runs(*shape, seed=sum(shape))
    written = _decoded(masks.grey_png(mask))
    assert written.mode == "L" and written.size == (shape[1], shape[0])
    np.testing.assert_array_equal(np.asarray(written), mask)


def test_grey_png_holds_every_byte_value_and_noise():
    mask = np.random.default_rng(1).integers(0, 256, size=(33, 256), dtype=np.uint8)
    mask[0] = np.arange(256)
    np.testing.assert_array_equal(np.asarray(_decoded(masks.grey_png(mask))), mask)


def test_encode_takes_pillow_for_modes_the_grey_writer_does_not_cover():
    mask = _runs(20, 30, seed=3)
    grey = Targets((30, 20), mask=mask, info={"mode": "L"})
    keyed = Targets((30, 20), mask=mask, info={"mode": "L", "transparency": 0})
    assert _decoded(masks.encode(grey)).mode == "L"
    with_key = _decoded(masks.encode(keyed))
    assert with_key.mode == "L" and with_key.info.get("transparency") == 0  # the key survives
    np.testing.assert_array_equal(np.asarray(with_key), mask)


def _oracle(mask: np.ndarray) -> dict:
    values, counts = np.unique(mask, return_counts=True)
    return {str(int(v)): int(n) for v, n in zip(values, counts)}


@pytest.mark.parametrize("values, note", [
    ((0, 1, 2, 3, 4, 5, 6, 255), "every value the mask holds is a source value: counted by comparison"),
    ((0, 1, 2, 3, 4, 5, 6), "the fill (255) is not a source value: the counts fall short, bincount"),
    ((0, 1, 2, 3, 4, 5, 6, 7, 8, 255), "more values than a few: bincount"),
    (None, "no source values known (the Augmenter's mask): bincount"),
])
def test_pixel_counts_are_np_unique_s(values, note):
    mask = _runs(40, 50, seed=7)
    info = {"mode": "L"} if values is None else {"mode": "L", "values": values}
    counts = masks.classes_present(Targets((50, 40), mask=mask, info=info))
    assert counts == _oracle(mask), note
    assert list(counts) == sorted(counts, key=int)  # ascending value order, as the manifest always had


def test_manifest_pixel_counts_match_the_written_mask(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(src / "images" / "x.png")
    Image.fromarray(_runs(30, 40, seed=11)[:, :] % 7, "L").save(src / "masks" / "x.png")
    (tmp_path / "r.yaml").write_text("version: 1\ncopies: 2\nseed: 3\ninclude_originals: false\n"
                                     "labels: {ignore_index: 200}\n"
                                     "pipeline:\n  - rotate: {angle: [20, 30], fill: constant}\n")
    result = CliRunner().invoke(cli, ["expand", str(src), str(tmp_path / "out"), "-r", str(tmp_path / "r.yaml"),
                                      "--layout", "masks", "-q"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        written = np.asarray(Image.open(tmp_path / "out" / "masks" / f"x_aug0{record['copy']}.png"))
        assert "200" in _oracle(written)  # the turn brought the fill in: a value the source did not have
        assert record["labels"]["pixels"] == _oracle(written)
