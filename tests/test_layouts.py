"""Annotated layouts end to end: detection, label parsing and its one-line
skips, what OUT holds (YOLO label files and data.yaml, mask PNGs with their
palette and bit depth, COCO JSON that pycocotools loads), splits, resume and
determinism across -j."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

import augcli
from augcli.cli import cli
from augcli.render import draw

RECIPE = "version: 1\ncopies: 2\nseed: 5\npipeline:\n  - hflip: {p: 0.5}\n  - rotate: {angle: [-20, 20]}\n"


def _image(path, size=(80, 50), box=(10, 10, 30, 25)):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[box[1]:box[3], box[0]:box[2]] = 200
    Image.fromarray(pixels).save(path)


def _yolo(root, rows: dict[str, str], split="train"):
    for stem, text in rows.items():
        _image(root / "images" / split / f"{stem}.png")
        if text is not None:
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split / f"{stem}.txt").write_text(text)
    return root


def _expand(src, out, recipe=RECIPE, *args):
    (src.parent / "r.yaml").write_text(recipe)
    return CliRunner().invoke(cli, ["expand", str(src), str(out), "-r", str(src.parent / "r.yaml"), "-j", "1", *args])


# -- YOLO ------------------------------------------------------------------------------


def test_yolo_tree_out_mirrors_src_with_labels_and_data_yaml(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.25 0.35 0.25 0.3\n", "b": None})
    _yolo(src, {"c": "1 0.5 0.5 0.2 0.2\n"}, split="val")
    (src / "data.yaml").write_text("path: /elsewhere\ntrain: images/train\nval: images/val\nnames: {0: a, 1: b}\n")
    result = _expand(src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "labels" / "train").iterdir()) == ["a.txt", "a_aug01.txt", "a_aug02.txt",
                                                                          "b_aug01.txt", "b_aug02.txt"]
    assert (out / "labels" / "val" / "c.txt").read_bytes() == (src / "labels" / "val" / "c.txt").read_bytes()
    assert not list((out / "images" / "val").glob("*_aug*"))  # only train is augmented
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["path"] == str(out.resolve()) and data["train"] == "images/train" and data["names"] == {0: "a", 1: "b"}
    assert (out / "labels" / "train" / "b_aug01.txt").read_text() == ""  # no objects: an empty label file
    for line in (out / "labels" / "train" / "a_aug01.txt").read_text().splitlines():
        cls, *values = line.split()
        assert cls == "0" and len(values) == 4 and all(0 <= float(v) <= 1 for v in values)
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    augmented = next(r for r in records if r["path"] == "images/train/a_aug01.png")
    assert augmented["labels"]["path"] == "labels/train/a_aug01.txt"
    assert sum(augmented["labels"]["objects"].values()) == 1


@pytest.mark.parametrize("row, reason", [
    ("0 0.5 0.5 -0.1 0.2", "box size -0.1 x 0.2 is not positive"),
    ("1.5 0.5 0.5 0.1 0.2", "class '1.5' is not a non-negative integer"),
    ("0 0.5 0.5 0.1", "4 values"),
    ("0 1.3 0.5 0.1 0.1", "cx 1.3 is outside [0, 1]"),
    ("0 0.5 nan 0.1 0.1", "is not a finite number"),
])
def test_yolo_bad_rows_skip_the_image_with_the_file_and_line(tmp_path, row, reason):
    src = _yolo(tmp_path / "src", {"a": f"0 0.5 0.5 0.1 0.1\n{row}\n", "b": "0 0.5 0.5 0.2 0.2\n"})
    result = _expand(src, tmp_path / "out", RECIPE, "--strict")
    assert result.exit_code == 1, result.output
    skips = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert [s["source"] for s in skips] == ["images/train/a.png"]
    assert skips[0]["reason"].startswith("labels/train/a.txt line 2: ") and reason in skips[0]["reason"]
    assert (tmp_path / "out" / "labels" / "train" / "b_aug02.txt").exists()


def test_yolo_coordinates_a_hair_outside_are_clamped_and_orphans_skipped(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 1.00000005 0.2\n"})
    (src / "labels" / "train" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    result = _expand(src, tmp_path / "out", "version: 1\ncopies: 1\npipeline: [vflip]\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "labels" / "train" / "a_aug01.txt").read_text() == "0 0.500000 0.500000 1.000000 0.200000\n"
    skips = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert skips == [{"source": "labels/train/ghost.txt", "reason": skips[0]["reason"]}]
    assert "without its image" in skips[0]["reason"]


def test_yolo_polygons_move_and_are_clipped(tmp_path):
    # a triangle touching the right edge, pushed out by a translation: its part inside is kept
    src = _yolo(tmp_path / "src", {"a": "3 0.5 0.2 0.95 0.5 0.5 0.8\n"})
    result = _expand(src, tmp_path / "out", "version: 1\ncopies: 1\npipeline: [{translate: {x: 20}}]\n")
    assert result.exit_code == 0, result.output
    (line,) = (tmp_path / "out" / "labels" / "train" / "a_aug01.txt").read_text().splitlines()
    cls, *values = line.split()
    points = np.array(values, float).reshape(-1, 2) * [80, 50]
    assert cls == "3" and points[:, 0].max() == pytest.approx(80) and points[:, 0].min() == pytest.approx(60)
    record = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[-1])
    assert record["labels"]["objects"] == {"kept": 0, "clipped": 1, "dropped": 0}


def test_min_visibility_drops_and_redraw_draws_again(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.1 0.5 0.2 0.2\n"})  # a box 8 px from the left edge, 16 px wide
    push = "version: 1\ncopies: 1\ninclude_originals: false\npipeline: [{translate: {x: {choice: [-30, 0]}}}]\n"
    recipe = augcli.Recipe.from_yaml(push)
    # a seed whose first draw pushes the box out of the frame (found, not assumed)
    seed = next(s for s in range(100) if draw(s, "images/train/a.png", 1, recipe.pipeline, (80, 50))[0][0]
                .kwargs()["x"] == -30)
    rules = "labels: {min_visibility: 0.5, on_empty: %s}\n"
    result = _expand(src, tmp_path / "keep", push + rules % "keep", "--seed", str(seed))
    assert result.exit_code == 0, result.output
    keep = json.loads((tmp_path / "keep" / "manifest.jsonl").read_text())
    assert keep["ops"][0]["x"] == -30 and keep["labels"]["objects"]["dropped"] == 1
    assert (tmp_path / "keep" / "labels" / "train" / "a_aug01.txt").read_text() == ""
    result = _expand(src, tmp_path / "redraw", push + rules % "redraw", "--seed", str(seed))
    redraw = json.loads((tmp_path / "redraw" / "manifest.jsonl").read_text())
    assert redraw["labels"]["attempt"] > 1 and redraw["labels"]["objects"] == {"kept": 1, "clipped": 0, "dropped": 0}
    assert redraw["ops"][0]["x"] == 0


def test_layout_detection_and_forcing(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n"})
    (src / "masks").mkdir()
    result = _expand(src, tmp_path / "out")
    assert result.exit_code == 2 and "fits several layouts" in result.output and "yolo" in result.output
    result = _expand(src, tmp_path / "out", RECIPE, "--layout", "coco")
    assert result.exit_code == 2 and "--layout coco" in result.output


def test_balance_is_refused_for_annotated_layouts(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n"})
    result = _expand(src, tmp_path / "out", "version: 1\nbalance: {target: 5}\npipeline: [hflip]\n")
    assert result.exit_code == 2 and "balance" in result.output and "not for the yolo layout" in result.output


def test_resume_follows_an_edited_label_file(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n", "b": "0 0.5 0.5 0.2 0.2\n"})
    out = tmp_path / "out"
    assert _expand(src, out).exit_code == 0
    before = (out / "labels" / "train" / "a_aug01.txt").read_text()
    (src / "labels" / "train" / "a.txt").write_text("0 0.3 0.3 0.1 0.1\n")
    result = _expand(src, out, RECIPE, "--resume")
    assert result.exit_code == 0, result.output
    assert (out / "labels" / "train" / "a_aug01.txt").read_text() != before
    fresh = tmp_path / "fresh"
    assert _expand(src, fresh).exit_code == 0
    for path in sorted((fresh / "labels").rglob("*.txt")):
        assert (out / path.relative_to(fresh)).read_bytes() == path.read_bytes()


def test_same_labels_whatever_the_jobs(tmp_path):
    src = _yolo(tmp_path / "src", {f"i{n}": f"0 0.{n + 2} 0.5 0.2 0.3\n" for n in range(4)})
    (tmp_path / "r.yaml").write_text(RECIPE)
    augcli.expand(src, tmp_path / "one", tmp_path / "r.yaml", jobs=1)
    augcli.expand(src, tmp_path / "two", tmp_path / "r.yaml", jobs=2)
    for path in sorted((tmp_path / "one" / "labels").rglob("*.txt")):
        assert (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes() == path.read_bytes()


# -- masks -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["P", "I;16"])
def test_masks_keep_mode_and_palette(tmp_path, mode):
    src = tmp_path / "src"
    _image(src / "images" / "x.png", size=(40, 30))
    labels = np.zeros((30, 40), np.uint16 if mode == "I;16" else np.uint8)
    labels[5:15, 10:20] = 1000 if mode == "I;16" else 3
    (src / "masks").mkdir()
    if mode == "P":
        mask = Image.frombytes("P", (40, 30), labels.tobytes())
        mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [9] * 756)
    else:
        mask = Image.fromarray(labels)
    mask.save(src / "masks" / "x.png")
    result = _expand(src, tmp_path / "out", "version: 1\ncopies: 1\npipeline: [{rot90: {k: 1}}]\n")
    assert result.exit_code == 0, result.output
    written = Image.open(tmp_path / "out" / "masks" / "x_aug01.png")
    assert written.size == (30, 40)
    np.testing.assert_array_equal(np.asarray(written), np.rot90(np.asarray(mask)))
    if mode == "P":
        assert written.mode == "P" and written.getpalette()[:12] == mask.getpalette()[:12]
    else:
        assert np.asarray(written).max() == 1000


def test_mask_of_the_wrong_size_or_missing_is_a_skip(tmp_path):
    src = tmp_path / "src"
    _image(src / "images" / "x.png", size=(40, 30))
    _image(src / "images" / "y.png", size=(40, 30))
    (src / "masks").mkdir()
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(src / "masks" / "x.png")
    result = _expand(src, tmp_path / "out", "version: 1\ncopies: 1\npipeline: [hflip]\n")
    assert result.exit_code == 0, result.output
    reasons = {json.loads(line)["source"]: json.loads(line)["reason"]
               for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()}
    assert reasons == {"images/x.png": "mask masks/x.png is 10x10, its image 40x30", "images/y.png": "no masks/y.png for it"}


# -- COCO ------------------------------------------------------------------------------


def _coco(src):
    images, annotations = [], []
    for n, (w, h) in enumerate([(80, 50), (60, 70)], start=1):
        _image(src / "train" / f"p{n}.png", size=(w, h))
        images.append({"id": 10 + n, "file_name": f"p{n}.png", "width": w, "height": h})
        annotations.append({"id": 100 + n, "image_id": 10 + n, "category_id": 7, "bbox": [10, 10, 20, 15],
                            "area": 300, "iscrowd": 0,
                            "segmentation": [[10, 10, 30, 10, 30, 25, 10, 25]]})
    annotations.append({"id": 200, "image_id": 11, "category_id": 8, "bbox": [40, 5, 10, 10], "area": 100,
                        "iscrowd": 0, "segmentation": []})
    (src / "annotations").mkdir(parents=True)
    data = {"images": images, "annotations": annotations, "categories": [{"id": 7, "name": "box"},
                                                                          {"id": 8, "name": "other"}]}
    (src / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return src


def test_coco_output_loads_in_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    src = _coco(tmp_path / "src")
    result = _expand(src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    coco = COCO(str(tmp_path / "out" / "annotations" / "instances_train.json"))
    assert len(coco.getImgIds()) == 6 and len(coco.getAnnIds()) == len(set(coco.getAnnIds()))
    for image in coco.loadImgs(coco.getImgIds()):
        with Image.open(tmp_path / "out" / "train" / image["file_name"]) as written:
            assert written.size == (image["width"], image["height"])
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            x, y, w, h = ann["bbox"]
            assert 0 <= x and 0 <= y and x + w <= image["width"] + 1e-6 and y + h <= image["height"] + 1e-6
            if ann["segmentation"]:
                with warnings.catch_warnings():  # pycocotools' own numpy 2 deprecation, not ours
                    warnings.simplefilter("ignore", DeprecationWarning)
                    mask = coco.annToMask(ann)
                assert abs(mask.sum() - ann["area"]) <= 2 * (w + h)  # polygon area vs its raster
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"box", "other"}


def test_coco_rle_is_refused_with_a_reason(tmp_path):
    src = _coco(tmp_path / "src")
    path = src / "annotations" / "instances_train.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["segmentation"] = {"counts": "abc", "size": [50, 80]}
    data["annotations"][0]["iscrowd"] = 1
    path.write_text(json.dumps(data))
    result = _expand(src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    (skip,) = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert skip["source"] == "train/p1.png" and "annotation 101: RLE segmentation" in skip["reason"]


# -- verify, replay, dry run -----------------------------------------------------------


def test_verify_and_replay_cover_label_files(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.25 0.35 0.25 0.3\n1 0.5 0.3 0.1 0.1 0.6 0.5 0.4 0.6\n"})
    (src / "data.yaml").write_text("train: images/train\nnames: [a, b]\n")
    out = tmp_path / "out"
    assert _expand(src, out).exit_code == 0
    runner = CliRunner()
    result = runner.invoke(cli, ["verify", str(out), "--source", str(src)])
    assert result.exit_code == 0, result.output
    assert "verify: 7 files OK" in result.output  # 3 images, 3 label files, data.yaml
    result = runner.invoke(cli, ["replay", str(out / "manifest.jsonl"), str(src), str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    for path in sorted((out / "labels").rglob("*.txt")):
        assert (tmp_path / "again" / path.relative_to(out)).read_bytes() == path.read_bytes()
    (out / "labels" / "train" / "a_aug01.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (src / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    result = runner.invoke(cli, ["verify", str(out), "--source", str(src)])
    assert result.exit_code == 1
    assert "changed: labels/train/a_aug01.txt" in result.output and "source changed: labels/train/a.txt" in result.output


def test_dry_run_plans_annotated_outputs(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n", "b": None})
    result = _expand(src, tmp_path / "out", RECIPE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "write 6" in result.output and not (tmp_path / "out").exists()


# -- Augmenter -------------------------------------------------------------------------


def test_augmenter_moves_boxes_and_masks_as_expand_writes_them(tmp_path):
    src = tmp_path / "src"
    _image(src / "images" / "a.png", size=(80, 50), box=(10, 10, 30, 25))
    mask = np.zeros((50, 80), np.uint8)
    mask[10:25, 10:30] = 4
    (src / "labels").mkdir()
    (src / "labels" / "a.txt").write_text("2 0.25 0.35 0.25 0.3\n")
    recipe = RECIPE + "labels: {min_visibility: 0.2}\n"
    assert _expand(src, tmp_path / "out", recipe).exit_code == 0
    aug = augcli.Augmenter(augcli.Recipe.from_yaml(recipe))
    with Image.open(src / "images" / "a.png") as image:
        for copy in (1, 2):
            pixels, labels, record = aug(image, key="images/a.png", copy=copy, boxes=[[10, 10, 30, 25]],
                                         classes=[2], mask=mask)
            written = tmp_path / "out" / "images" / f"a_aug0{copy}.png"
            with Image.open(written) as expected:
                assert np.array_equal(np.asarray(pixels), np.asarray(expected))
            rows = (tmp_path / "out" / "labels" / f"a_aug0{copy}.txt").read_text().splitlines()
            assert len(rows) == len(labels["boxes"]) == 1 and labels["classes"].tolist() == [2]
            x0, y0, x1, y1 = labels["boxes"][0]
            w, h = pixels.size
            assert rows[0] == "2 " + " ".join(f"{v:.6f}" for v in ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h,
                                                                   (x1 - x0) / w, (y1 - y0) / h))
            assert labels["mask"].shape == (h, w) and set(np.unique(labels["mask"])) <= {0, 4}
            assert record["labels"]["objects"]["dropped"] == 0


# -- preview, stats, manifest ----------------------------------------------------------


def test_preview_draws_the_moved_boxes(tmp_path):
    from augcli._preview import preview_rows
    from augcli.overlay import colour

    src = _yolo(tmp_path / "src", {"a": "3 0.25 0.35 0.25 0.3\n"})
    rows = preview_rows(src, augcli.Recipe.from_yaml("version: 1\ncopies: 1\npipeline: [hflip]\n"), images=1,
                        variants=1)
    original, flipped = (np.asarray(tile.image) for tile in rows[0].tiles)
    ink = np.all(original == colour(3), axis=-1)
    ys, xs = np.nonzero(ink)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (10, 10, 29, 24)  # the box's outline, edges inclusive
    assert np.array_equal(np.all(flipped == colour(3), axis=-1), ink[:, ::-1])


def test_stats_and_manifest_count_objects(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.25 0.35 0.25 0.3\n1 0.5 0.5 0.1 0.1\n"})
    assert _expand(src, tmp_path / "out").exit_code == 0
    runner = CliRunner()
    result = runner.invoke(cli, ["stats", str(tmp_path / "out"), "--json"])
    objects = json.loads(result.output)["objects"]
    assert objects["classes"]["0"] == {"source": 1, "augmented": 2} and objects["classes"]["1"]["source"] == 1
    assert sum(objects["augmented"].values()) == 4
    result = runner.invoke(cli, ["manifest", str(tmp_path / "out")])
    header, first, *_ = result.output.splitlines()
    assert header.endswith("labels_path,objects_kept,objects_clipped,objects_dropped,objects_per_class")
    assert first.endswith("labels/train/a.txt,2,0,0,0=1 1=1")


def test_a_geometric_op_that_cannot_move_boxes_is_refused_for_annotated_layouts(tmp_path, monkeypatch):
    from augcli.ops.registry import REGISTRY
    from augcli.ops.spec import OpSpec

    # a plugin-like geometric op with neither a forward matrix nor a known way to move targets
    monkeypatch.setitem(REGISTRY, "swirl", OpSpec("swirl", lambda img: img, category="geometric"))
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n"})
    result = _expand(src, tmp_path / "out", "version: 1\ncopies: 1\npipeline: [hflip, {one_of: [swirl, vflip]}]\n")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert "pipeline[1].one_of[0]: swirl cannot move boxes or masks with its pixels" in result.output


def test_overwrite_removes_label_files_and_data_yaml_of_the_earlier_run(tmp_path):
    src = _yolo(tmp_path / "src", {"a": "0 0.5 0.5 0.1 0.1\n", "b": "0 0.5 0.5 0.2 0.2\n"})
    (src / "data.yaml").write_text("train: images/train\nnames: [a]\n")
    out = tmp_path / "out"
    assert _expand(src, out).exit_code == 0
    for name in ("b.png",):
        (src / "images" / "train" / name).unlink()
    (src / "labels" / "train" / "b.txt").unlink()
    (src / "data.yaml").unlink()
    assert _expand(src, out, RECIPE, "--overwrite").exit_code == 0
    assert sorted(p.name for p in (out / "labels" / "train").iterdir()) == ["a.txt", "a_aug01.txt", "a_aug02.txt"]
    assert not (out / "data.yaml").exists()
    assert CliRunner().invoke(cli, ["verify", str(out)]).exit_code == 0


def test_a_coco_original_keeps_its_bbox(tmp_path):
    src = _coco(tmp_path / "src")
    path = src / "annotations" / "instances_train.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["bbox"] = [9, 9, 22, 17]  # looser than its polygon, as hand-drawn boxes are
    path.write_text(json.dumps(data))
    assert _expand(src, tmp_path / "out").exit_code == 0
    written = json.loads((tmp_path / "out" / "annotations" / "instances_train.json").read_text())
    original = next(i["id"] for i in written["images"] if i["file_name"] == "p1.png")
    boxes = [a["bbox"] for a in written["annotations"] if a["image_id"] == original]
    assert [9, 9, 22, 17] in boxes


def test_coco_splits_by_file_name_only_train_is_augmented(tmp_path):
    src = _coco(tmp_path / "src")
    (src / "train").rename(src / "train2017")
    (src / "annotations" / "instances_train.json").rename(src / "annotations" / "instances_train2017.json")
    _image(src / "val2017" / "v.png")
    val = {"images": [{"id": 1, "file_name": "v.png", "width": 80, "height": 50}], "annotations": [],
           "categories": [{"id": 7, "name": "box"}]}
    (src / "annotations" / "instances_val2017.json").write_text(json.dumps(val))
    result = _expand(src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "val2017").iterdir()) == ["v.png"]
    assert len(list((out / "train2017").iterdir())) == 6
    written = json.loads((out / "annotations" / "instances_val2017.json").read_text())
    assert [i["file_name"] for i in written["images"]] == ["v.png"]
