"""A keras: block pasted from a notebook runs: the training-time arguments of
ImageDataGenerator (rescale, featurewise_*, ...) are accepted with one notice
each and listed in augcli.json; preprocessing_function is a recipe error."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from augcli.catalogue import json_schema
from augcli.ops.keras import TRAINING_TIME

# every training-time argument, with values as notebooks write them
NOTEBOOK_BLOCK = """\
version: 1
copies: 2
seed: 3
keras:
  rescale: 1./255
  featurewise_center: false
  featurewise_std_normalization: false
  samplewise_center: true
  samplewise_std_normalization: true
  zca_whitening: false
  zca_epsilon: 1.0e-06
  validation_split: 0.2
  dtype: float32
  data_format: channels_last
  rotation_range: 20
  width_shift_range: 0.1
  horizontal_flip: true
  fill_mode: nearest
"""
LISTED = {"keras.rescale": "1./255", "keras.featurewise_center": False, "keras.featurewise_std_normalization": False,
          "keras.samplewise_center": True, "keras.samplewise_std_normalization": True, "keras.zca_whitening": False,
          "keras.zca_epsilon": 1e-06, "keras.validation_split": 0.2, "keras.dtype": "float32",
          "keras.data_format": "channels_last"}


def write(tmp_path: Path, text: str, name: str = "notebook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def notices(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("augcli: notice: ")]


def without_training_time(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.split(":")[0].strip() not in TRAINING_TIME)


def test_pasted_block_runs_with_one_notice_per_training_time_argument(run, src, tmp_path):
    recipe = write(tmp_path, NOTEBOOK_BLOCK)
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "2", src=src)
    assert result.exit_code == 0, result.stderr
    lines = notices(result.stderr)
    assert len(lines) == len(TRAINING_TIME) == len(LISTED)
    for line, (path, key) in zip(lines, ((p, p.split(".")[1]) for p in LISTED)):
        assert line.startswith(f"augcli: notice: {recipe}:") and f": {path}: " in line, line
        why, _, instead = TRAINING_TIME[key].partition("; ")  # validation_split says what to do instead
        assert why in line and (instead or "belongs in your training code") in line
    assert "1./255" in lines[0] and ":5: keras.rescale:" in lines[0]  # the value and line the user wrote
    record = json.loads((out / "augcli.json").read_text())
    assert record["training_time_arguments"] == LISTED
    assert record["status"] == "complete" and record["counts"]["written"] == 6 * 3


def test_training_time_arguments_change_no_output(run, src, tmp_path):
    """They are not applied: the recipe hash and every written byte are those of
    the same block without them."""
    with_them, without = tmp_path / "with", tmp_path / "without"
    assert run("expand", src, with_them, "-r", write(tmp_path, NOTEBOOK_BLOCK), "-j", "1", src=src).exit_code == 0
    plain = write(tmp_path, without_training_time(NOTEBOOK_BLOCK), "plain.yaml")
    result = run("expand", src, without, "-r", plain, "-j", "1", src=src)
    assert result.exit_code == 0 and notices(result.stderr) == []
    records = [json.loads((out / "augcli.json").read_text()) for out in (with_them, without)]
    assert records[0]["recipe_sha256"] == records[1]["recipe_sha256"]
    assert records[1]["training_time_arguments"] == {}
    assert (with_them / "manifest.jsonl").read_text() == (without / "manifest.jsonl").read_text()


def test_validate_and_preview_give_the_notices_too(run, src, tmp_path):
    recipe = write(tmp_path, NOTEBOOK_BLOCK)
    result = run("validate", recipe)
    assert result.exit_code == 0 and len(notices(result.stderr)) == len(TRAINING_TIME)
    assert "rescale" not in result.stdout  # the normalised recipe holds what is applied
    result = run("preview", src, "-r", recipe, "--out", tmp_path / "sheet.png", "-n", "1", "-k", "1", src=src)
    assert result.exit_code == 0 and len(notices(result.stderr)) == len(TRAINING_TIME)


def test_a_keras_step_inside_a_pipeline_is_noticed_where_it_is(run, tmp_path):
    recipe = write(tmp_path, "pipeline:\n  - hflip\n  - keras: {rotation_range: 10, rescale: 0.00392156862745098}\n")
    result = run("validate", recipe)
    assert result.exit_code == 0
    (line,) = notices(result.stderr)
    assert f"{recipe}:3: pipeline[1].keras.rescale: 0.00392156862745098 is not applied" in line


def test_preprocessing_function_is_a_recipe_error_saying_why(run, src, tmp_path):
    recipe = write(tmp_path, NOTEBOOK_BLOCK + "  preprocessing_function: my_module.preprocess\n")
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, src=src)
    assert result.exit_code == 2 and not out.exists()
    (line,) = result.stderr.splitlines()
    assert line == (f"{recipe}:19: keras.preprocessing_function: preprocessing_function is not supported: a Python "
                    "function cannot be written in a YAML recipe (augcli never runs code from one); write what it "
                    "does as ops in a pipeline, or keep it in your training code")


def test_the_schema_accepts_a_pasted_block():
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(NOTEBOOK_BLOCK))) == []
