"""``augcli validate`` and the JSON Schema (``augcli schema``) read one
envelope (``augcli.envelope``), so they agree: a corpus of valid and invalid
recipes goes through both, and any recipe one accepts and the other refuses
fails the test (issue 23 found eight such disagreements)."""
from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from augcli.catalogue import json_schema
from augcli.errors import RecipeError
from augcli.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]

ACCEPTED = [
    "pipeline: [hflip]",
    "version: 1\ncopies: 0\nseed: 9223372036854775807\npipeline: [hflip]",
    "copies: 100000\npipeline: [hflip]",
    "pipeline: [{some_of: {n: {choice: [1, 2]}, of: [hflip, vflip]}}]",  # the schema refused it
    "pipeline: [{some_of: {n: [0, 2], of: [hflip, vflip]}}]",
    "pipeline: [{some_of: {n: 2, of: [hflip, vflip], p: 0.5}}]",
    "pipeline: [{one_of: [hflip, vflip]}]",
    "pipeline: [{one_of: {of: [hflip, vflip], p: 0}}]",
    "pipeline: [{sequence: {of: [hflip, {rot90: {k: 2}}], p: 1}}]",
    "pipeline: [{random_order: [hflip, vflip]}]",
    "pipeline: [{random_order: {of: [hflip, {rot90: {k: 2}}], p: 0.5}}]",
    "variants: {a: hflip}",  # a single step for a variant: the schema refused it
    "variants: {a: [hflip], b-2: [{rotate: {angle: 10}}]}",
    "copies: 0\npipeline: []",
    "copies: 0\ninclude_originals: true\npipeline: []",
    "output: {format: png, quality: 1, size: [32, null], fit: contain, background: 0}\npipeline: [hflip]",
    "output: {quality: 100, size: null, background: 255}\npipeline: [hflip]",
    "balance: {target: max}\npipeline: [hflip]",
    "balance: {target: 1000000}\npipeline: [hflip]",
    "balance: {target: {cat: 3}}\npipeline: [hflip]",
    "pipeline: [hflip]\nclasses: {cat: {exclude: [hflip], pipeline: [vflip]}, dog: {copies: 0}}",
    "keras: {rotation_range: 10, horizontal_flip: true}",
    "keras: {rotation_range: 10}\ncopies: 3",
    "pipeline: [{keras: {zoom_range: [0.8, 1.2]}}]",
    "pipeline: [{rotate: {angle: [-10, 10], p: 1}}, {brightness: {factor: {choice: [0.9, 1.1]}}}]",
    "pipeline: [hflip]\nlabels: {min_visibility: 0.3, min_size: 2, on_empty: redraw, ignore_index: 255}",
    "pipeline: [hflip]\nlabels: {}",
]

REFUSED = [
    "pipeline: [hflip]\nlabels: {min_visibility: 1.5}",
    "pipeline: [hflip]\nlabels: {on_empty: drop}",
    "pipeline: [hflip]\nlabels: {ignore_index: 70000}",
    "pipeline: [hflip]\nlabels: {min_visiblity: 0.3}",
    "seed: 9223372036854775808\npipeline: [hflip]",  # the schema accepted these six
    "pipeline: [{one_of: {of: [hflip, vflip], p: 7}}]",
    "pipeline: [{some_of: {n: 3, of: [hflip, vflip]}}]",
    "pipeline: [hflip]\nvariants: {a: [hflip]}",
    "copies: 2\nvariants: {a: [hflip]}",
    "pipeline: []",
    # and more of the envelope
    "version: 2\npipeline: [hflip]",
    "copies: -1\npipeline: [hflip]",
    "copies: 100001\npipeline: [hflip]",
    "copies: 1.5\npipeline: [hflip]",
    "seed: -1\npipeline: [hflip]",
    "include_originals: 1\npipeline: [hflip]",
    "colour: red\npipeline: [hflip]",
    "copies: 3",
    "{}",
    "copies: 2\npipeline: []",
    "balance: {target: max}\npipeline: []",
    "copies: 0\ninclude_originals: false\npipeline: [hflip]",
    "keras: {rotation_range: 10}\ncopies: 0\ninclude_originals: false",  # validate let this write nothing
    "pipeline: [{sequence: {of: [hflip], p: -0.1}}]",
    "pipeline: [{some_of: {n: {choice: [1, 3]}, of: [hflip, vflip]}}]",
    "pipeline: [{some_of: {n: [1, 3], of: [hflip, vflip]}}]",
    "pipeline: [{some_of: {of: [hflip]}}]",
    "pipeline: [{one_of: []}]",
    "pipeline: [{random_order: {of: [hflip], p: 2}}]",
    "pipeline: [{random_order: {of: [hflip], n: 1}}]",
    "pipeline: [{one_of: {of: [hflip], n: 1}}]",
    "pipeline: [{hflip: {p: 1.5}}]",
    "variants: {-a: [hflip]}",
    "variants: {a b: [hflip]}",
    "variants: {}",
    "variants: {a: [hflip]}\nbalance: {target: max}",
    "copies: 2\nbalance: {target: max}\npipeline: [hflip]",
    "keras: {rotation_range: 10}\npipeline: [hflip]",
    "keras: {rotation_range: 10}\nvariants: {a: [hflip]}",
    "output: {quality: 0}\npipeline: [hflip]",
    "output: {quality: 101}\npipeline: [hflip]",
    "output: {format: gif}\npipeline: [hflip]",
    "output: {fit: fill}\npipeline: [hflip]",
    "output: {background: 256}\npipeline: [hflip]",
    "output: {colour: 3}\npipeline: [hflip]",
    "output: png\npipeline: [hflip]",
    "balance: {target: 0}\npipeline: [hflip]",
    "balance: {target: 1000001}\npipeline: [hflip]",
    "balance: {target: {cat: 0}}\npipeline: [hflip]",
    "balance: {target: most}\npipeline: [hflip]",
    "balance: max\npipeline: [hflip]",
    "pipeline: [hflip]\nclasses: {cat: {exclude: [flip]}}",
    "pipeline: [hflip]\nclasses: {cat: {copies: -1}}",
    "pipeline: [hflip]\nclasses: {cat: {weight: 2}}",
    "pipeline: [hflip]\nclasses: {cat: 3}",
    "pipeline: hflip",
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


def _validate(text: str) -> bool:
    try:
        Recipe.from_yaml(text)
    except RecipeError:
        return False
    return True


@pytest.mark.parametrize("text", ACCEPTED + REFUSED)
def test_validate_and_the_schema_agree(validator, text):
    by_schema = not list(validator.iter_errors(yaml.safe_load(text)))
    assert _validate(text) == by_schema, ("validate", _validate(text), "schema", by_schema)
    assert by_schema == (text in ACCEPTED)


def test_the_shipped_recipes_are_in_the_corpus_too(validator):
    for path in sorted((ROOT / "recipes").glob("*.yaml")) + sorted((ROOT / "benchmarks" / "recipes").glob("*.yaml")):
        text = path.read_text()
        assert _validate(text) and not list(validator.iter_errors(yaml.safe_load(text))), path.name
