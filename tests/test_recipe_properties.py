"""Property-based recipe tests: any YAML document either becomes a recipe or
a RecipeError whose every problem names a location; no input raises anything
else; and every valid recipe built from the registry runs on a tiny tree."""
from __future__ import annotations

import math

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from augcli.errors import RecipeError
from augcli._expand import expand
from augcli.ops import REGISTRY
from augcli.recipe import Recipe

KEYS = ["version", "copies", "seed", "include_originals", "output", "pipeline", "variants", "keras", "balance",
        "classes", "format", "quality", "size", "one_of", "some_of", "of", "n", "p", "choice", "target",
        "exclude", *REGISTRY, *{p.name for spec in REGISTRY.values() for p in spec.params}, "rotat", "pipline"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.sampled_from(KEYS), st.text(max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=25)


@settings(max_examples=250, deadline=None)
@given(documents)
def test_any_document_is_a_recipe_or_located_problems(document):
    text = yaml.safe_dump(document)
    try:
        Recipe.from_yaml(text, name="r.yaml")
    except RecipeError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path or problem.line, problem
            assert problem.format("r.yaml").startswith("r.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises_anything_but_recipe_error(text):
    try:
        Recipe.from_yaml(text)
    except RecipeError:
        pass


def valid_value(param):
    """A strategy for values ``param`` accepts, in the recipe grammar."""
    lo = -50 if param.lo is None else param.lo
    hi = 50 if param.hi is None else min(param.hi, lo + 100)
    if param.kind == "enum":
        one = st.sampled_from(param.choices)
    elif param.kind == "bool":
        one = st.booleans()
    elif param.kind == "int":
        one = st.integers(math.ceil(lo), math.floor(hi))
    elif param.kind == "float":
        one = st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 3)).filter(lambda v: lo <= v <= hi)
    elif param.kind == "pair":
        return st.tuples(st.integers(4, 24), st.integers(4, 24)).map(list)
    elif param.kind == "box":
        return st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(6, 16), st.integers(6, 12)).map(list)
    elif param.kind == "pair_float":
        return st.tuples(st.floats(max(lo, 0.1), 0.5), st.floats(0.5, min(hi, 1.0))).map(sorted).map(list)
    else:  # the keras kinds: a plain number is always allowed
        return st.floats(0, 0.5).map(lambda v: round(v, 3))
    if param.rangeable:
        return st.one_of(one, st.tuples(one, one).map(sorted).map(list))
    return one


@st.composite
def op_steps(draw):
    # (a model op needs a model file: tests/ops/test_onnx.py builds its own)
    name = draw(st.sampled_from(sorted(n for n in REGISTRY if n != "resize" and REGISTRY[n].prepare is None)))
    spec = REGISTRY[name]
    params = {}
    for param in spec.params:
        if param.required or draw(st.booleans()):
            params[param.name] = draw(valid_value(param))
    params["p"] = draw(st.sampled_from([0, 0.5, 1]))
    return {name: params}


steps = st.recursive(op_steps(), lambda inner: st.one_of(
    st.builds(lambda of: {"one_of": of}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda of: {"some_of": {"n": [0, len(of)], "of": of}}, st.lists(inner, min_size=1, max_size=3))),
    max_leaves=4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(steps, min_size=1, max_size=4), st.integers(0, 2**31))
def test_every_valid_recipe_runs_on_a_tiny_tree(tmp_path_factory, pipeline, seed):
    recipe = Recipe.from_yaml(yaml.safe_dump({"version": 1, "copies": 2, "seed": seed, "pipeline": pipeline}))
    root = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(seed)
    for label, mode in (("rgb", "RGB"), ("grey", "L")):
        (root / label).mkdir()
        arr = rng.integers(0, 256, (18, 26, 3) if mode == "RGB" else (18, 26), np.uint8)
        Image.fromarray(arr).save(root / label / "a.png")
    out = tmp_path_factory.mktemp("out") / "out"
    summary = expand(root, out, recipe, jobs=1)
    assert summary.written == 6 and summary.skipped == 0
