"""The registry documents itself: transforms, the JSON Schema, the README
table (the module boundaries are tests/test_architecture.py's)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from augcli.catalogue import json_schema, op_table
from augcli.ops import REGISTRY
from augcli.errors import RecipeError
from augcli.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_is_documented_with_a_valid_example(run, name, example_models):
    spec = REGISTRY[name]
    assert spec.doc and spec.example.startswith(f"- {name}")
    assert all(p.doc for p in spec.params), f"{name}: every parameter needs a doc string"
    Recipe.from_yaml("pipeline:\n  " + spec.example)
    result = run("transforms", name)
    assert result.exit_code == 0 and spec.example in result.stdout


def test_transforms_lists_every_op_and_refuses_unknown_names(run):
    listing = run("transforms").stdout
    assert all(f"  {name} " in listing for name in REGISTRY)
    result = run("transforms", "rotat")
    assert result.exit_code == 2 and "did you mean 'rotate'" in result.stderr


def test_readme_op_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- ops:start -->\n", "<!-- ops:end -->"
    table = readme[readme.index(start) + len(start): readme.index(end)]
    assert table == op_table(), "README op table is stale: run `make readme-ops`"


def test_schema_is_valid_and_accepts_every_shipped_recipe(run):
    schema = json.loads(run("schema").stdout)
    assert schema == json.loads(json.dumps(json_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "recipes").glob("*.yaml")):
        Recipe.load(path)  # augcli accepts it ...
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path.name  # ... and so does the schema
    assert list(validator.iter_errors({"pipeline": [{"rotate": {"angle": 3, "fill": "reflct"}}]}))


# -- discoverability: compositions, and names from other libraries ----------------------------

COMPOSITIONS = ("one_of", "some_of", "sequence", "random_order")


def test_transforms_lists_compositions_and_policies_with_their_own_help(run):
    listing = run("transforms").stdout
    assert "composition:" in listing and "policy:" in listing
    for name in COMPOSITIONS + ("randaugment", "trivialaugment"):
        assert f"  {name} " in listing, name
        detail = run("transforms", name)
        assert detail.exit_code == 0 and detail.stdout.startswith(f"{name} (")
        example = detail.stdout.split("example:\n  pipeline:\n    ", 1)[1].strip()
        Recipe.from_yaml(f"pipeline:\n  {example}\n")  # the example it shows is a valid step
    result = run("transforms", "oneof")
    assert result.exit_code == 2 and "did you mean 'one_of'" in result.stderr


@pytest.mark.parametrize("step,expected", [
    ("oneof: [hflip, vflip]", "unknown op 'oneof'; see 'augcli transforms' for the list (did you mean 'one_of'?)"),
    ("some-of: {n: 1, of: [hflip]}",
     "unknown op 'some-of'; see 'augcli transforms' for the list (did you mean 'some_of'?)"),
    ("HorizontalFlip: {p: 0.5}", "unknown op 'HorizontalFlip': albumentations' HorizontalFlip is hflip in augcli"),
    ("horizontal_flip", "unknown op 'horizontal_flip': Keras' horizontal_flip is hflip in augcli"),
    ("RandomHorizontalFlip", "unknown op 'RandomHorizontalFlip': torchvision's RandomHorizontalFlip is hflip in "
                             "augcli"),
    ("ColorJitter: {brightness: 0.2}", "unknown op 'ColorJitter': torchvision's ColorJitter is color_jitter in augcli "
                                       "(one op, torchvision's semantics; or brightness, contrast, saturation and hue "
                                       "one op each)"),
    ("CLAHE", "unknown op 'CLAHE': albumentations' CLAHE is clahe in augcli"),
    ("AutoAugment", "unknown op 'AutoAugment': torchvision's AutoAugment is autoaugment in augcli (policy: imagenet, "
                    "cifar10 or svhn)"),
    ("RandomOrder", "unknown op 'RandomOrder': torchvision's RandomOrder is random_order in augcli"),
    ("RandomBrightnessContrast", "unknown op 'RandomBrightnessContrast': albumentations' RandomBrightnessContrast "
                                 "is brightness and contrast in augcli"),
    ("GaussNoise", "unknown op 'GaussNoise': albumentations' GaussNoise is gaussian_noise in augcli"),
    ("Rotate: {limit: 15}", "unknown op 'Rotate': albumentations' Rotate is rotate in augcli "
                            "(Rotate(limit=l) is rotate: {angle: [-l, l]})"),
])
def test_unknown_names_point_to_the_augcli_op(step, expected):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(f"pipeline:\n  - {step}\n", name="r.yaml")
    assert [p.format("r.yaml") for p in info.value.problems] == [f"r.yaml:2: pipeline[0].{step.split(':')[0]}: "
                                                                 + expected]


def test_torchvision_random_rotation_degrees_points_to_rotate():
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml("pipeline:\n  - RandomRotation: {degrees: 15}\n", name="r.yaml")
    (problem,) = info.value.problems
    assert problem.format("r.yaml") == (
        "r.yaml:2: pipeline[0].RandomRotation.degrees: that is torchvision's RandomRotation(degrees); augcli's "
        "RandomRotation is Keras' (factor, in turns); for degrees d write rotate: {angle: [-d, d]}")


def test_the_foreign_name_map_points_only_at_real_ops(run):
    from augcli.names import FOREIGN, FOREIGN_PARAMS

    assert 20 <= len(FOREIGN) <= 80  # small, on purpose
    for name, pointer in FOREIGN.items():
        assert name not in REGISTRY and name not in COMPOSITIONS, f"{name} is an augcli name itself"
        assert pointer.ops and all(op in REGISTRY or op in COMPOSITIONS for op in pointer.ops), name
        result = run("transforms", name)
        assert result.exit_code == 2 and pointer.ops[0] in result.stderr
    for (op, param), text in FOREIGN_PARAMS.items():
        assert op in REGISTRY and REGISTRY[op].param(param) is None and text


# values of every shape a parameter might be given; each that augcli accepts, the schema must accept
PROBES = [0, 1, 2, -1, 0.5, 0.999, 1.5, 3, 255, 256, 1000, -400, True, False, "x", None, "reflect", "bilinear",
          [1, 2], [2, 1], [0.2, 0.8], [1, 2, 3, 4], [0, 0, 5, 5], [5, None], [0, 5], [-1, 1], [],
          [1.5, 2.5, 3.5], {"choice": [1, 2]}, {"choice": ["reflect", "wrap"]}, {"choice": [[1, 2], [3, 4]]}]
# the one known difference: augcli draws {choice: [...]} for Keras' arguments too, the schema keeps to Keras' forms
PARSER_ONLY = {("keras", "width_shift_range"), ("keras", "height_shift_range"), ("keras", "zoom_range")}


def test_the_schema_accepts_every_parameter_value_augcli_accepts():
    """The parser and the schema read one object per kind of value: an editor
    using ``augcli schema`` never flags a value ``augcli validate`` accepts."""
    validator = jsonschema.Draft202012Validator(json_schema())
    disagree = set()
    for name, spec in REGISTRY.items():
        (example,) = yaml.safe_load(spec.example)[0].values()
        example = {k: v for k, v in (example or {}).items() if k != "p"}
        for param in spec.params:
            for probe in PROBES:
                if param.rangeable and param.nullable and isinstance(probe, list) and None in probe:
                    continue  # a range with a null end (zoom: {x: [5, null]}) is an internal error today
                if param.parse(probe)[1]:
                    continue  # augcli refuses it
                if list(validator.iter_errors({"pipeline": [{name: {**example, param.name: probe}}]})):
                    disagree.add((name, param.name))
    assert disagree == PARSER_ONLY
