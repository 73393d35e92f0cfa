"""Documentation generated from the op registry: ``augcli transforms``, the
README's op table and the recipe JSON Schema. One source of truth, so the
docs cannot drift from the code (a test regenerates the README table)."""
from __future__ import annotations

from typing import Any

from .label_rules import ON_EMPTY
from .limits import MAX_BALANCE, MAX_COPIES
from .ops import REGISTRY
from .ops.spec import REQUIRED, OpSpec, Param, show, size_schema
from .recipe import COMPOSITION_DOCS

CATEGORIES = ("geometric", "colour", "noise", "policy")


def _default(param: Param) -> str:
    if param.default is REQUIRED:
        return "required"
    value = param.default
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return show(value).strip("'")


def _bounds(param: Param) -> str:
    if param.lo is None and param.hi is None or not param.type.shows_bounds:
        return ""
    lo = "" if param.lo is None else f"{param.lo:g}"
    hi = "" if param.hi is None else f"{param.hi:g}"
    return f"{lo}..{hi}"


def params_line(spec: OpSpec) -> str:
    return ", ".join(f"{p.name}={_default(p)}" for p in spec.params) or "-"


def op_table() -> str:
    """The Markdown table of every op, grouped by category (for the README)."""
    rows = ["| op | parameters (default) | what it does |", "| --- | --- | --- |"]
    for category in CATEGORIES:
        for name, spec in REGISTRY.items():
            if spec.category == category:
                rows.append(f"| `{name}` | {params_line(spec).replace('|', '/')} | {spec.doc} |")
    return "\n".join(rows) + "\n"


def listing() -> str:
    """``augcli transforms``: one line per op, then the compositions."""
    width = max(map(len, REGISTRY))
    lines = []
    for category in CATEGORIES:
        lines.append(f"{category}:")
        for name, spec in REGISTRY.items():
            if spec.category == category:
                lines.append(f"  {name:<{width}}  {params_line(spec)}")
    lines.append("composition:")
    for name, (keys, _, _) in COMPOSITION_DOCS.items():
        lines.append(f"  {name:<{width}}  {keys}")
    lines.append("\nEvery op also takes p (probability it fires, default 1). "
                 "'augcli transforms NAME' shows one op (or composition) in full.")
    return "\n".join(lines) + "\n"


def describe_composition(name: str) -> str:
    """``augcli transforms one_of``: a composition, its keys and an example."""
    keys, doc, example = COMPOSITION_DOCS[name]
    lines = [f"{name} (composition): {doc}", "", f"keys: {keys}",
             "  of  the list of steps (ops or compositions)"]
    if "n" in keys:
        lines.append("  n   how many of them: an integer, or a range [lo, hi] drawn per output")
    lines += ["  p   probability that the whole step applies (default 1)", "",
              "example:", "  pipeline:", f"    {example}"]
    return "\n".join(lines) + "\n"


def describe(spec: OpSpec) -> str:
    """``augcli transforms NAME``: one op in full, with an example snippet."""
    lines = [f"{spec.name} ({spec.category}): {spec.doc}", "", "parameters:"]
    rows = [(p.name, p.type.label_of(p), _default(p), _bounds(p), p.doc) for p in spec.params]
    rows.append(("p", "number", "1", "0..1", "probability that the op fires"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        lines.append("  " + "  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:4])) + f"  {row[4]}")
    if spec.training_time:
        lines += ["", "accepted but not applied, with a notice (they belong in your training code):"]
        lines += [f"  {k}: {v}" for k, v in spec.training_time.items()]
    if spec.refused:
        lines += ["", "not supported (and why):"] + [f"  {k}: {v}" for k, v in spec.refused.items()]
    lines += ["", "Numbers also take a range [lo, hi] (drawn uniformly per output) or {choice: [...]}.",
              "", "example:", "  pipeline:", f"    {spec.example or '- ' + spec.name}"]
    return "\n".join(lines) + "\n"


# -- JSON Schema ---------------------------------------------------------------------------


def _value_schema(param: Param) -> dict[str, Any]:
    """A parameter's schema: its kind's single value (or null), and the range and
    choice forms the recipe grammar adds."""
    base = param.type.schema(param)
    if param.nullable:
        base = {"anyOf": [base, {"type": "null"}]}
    options = [base]
    if param.rangeable:
        options.append({"type": "array", "items": base, "minItems": 2, "maxItems": 2,
                        "description": "a range [lo, hi], drawn uniformly per output"})
    if param.type.schema_choice:
        options.append({"type": "object", "properties": {"choice": {"type": "array", "items": base, "minItems": 1}},
                        "required": ["choice"], "additionalProperties": False})
    return {"description": param.doc, "anyOf": options} if len(options) > 1 else {"description": param.doc, **base}


def _op_schema(spec: OpSpec) -> dict[str, Any]:
    props = {p.name: _value_schema(p) for p in spec.params}
    props["p"] = {"type": "number", "minimum": 0, "maximum": 1, "description": "probability that the op fires"}
    props.update({k: {"description": f"accepted, not applied: {why}"} for k, why in spec.training_time.items()})
    params = {"type": ["object", "null"], "properties": props, "additionalProperties": False,
              "required": [p.name for p in spec.params if p.required]}
    return {"type": "object", "description": spec.doc, "properties": {spec.name: params},
            "required": [spec.name], "additionalProperties": False}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of recipe version 1, for editors."""
    step_ref = {"$ref": "#/$defs/step"}
    steps = {"type": "array", "items": step_ref}
    composition = {
        "one_of": {"anyOf": [steps, {"type": "object", "properties": {"of": steps, "p": {"type": "number"}},
                                     "required": ["of"], "additionalProperties": False}]},
        "sequence": {"anyOf": [steps, {"type": "object", "properties": {"of": steps, "p": {"type": "number"}},
                                       "required": ["of"], "additionalProperties": False}]},
        "some_of": {"type": "object", "properties": {"n": {"anyOf": [{"type": "integer"}, {
            "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}]}, "of": steps,
            "p": {"type": "number"}}, "required": ["n", "of"], "additionalProperties": False},
    }
    step_options = [{"enum": sorted(REGISTRY)}]
    step_options += [_op_schema(spec) for spec in REGISTRY.values()]
    step_options += [{"type": "object", "properties": {k: v}, "required": [k], "additionalProperties": False}
                     for k, v in composition.items()]
    keras_params = _op_schema(REGISTRY["keras"])["properties"]["keras"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "augcli recipe, version 1",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "copies": {"type": "integer", "minimum": 0, "maximum": MAX_COPIES,
                       "description": "augmented outputs per source image (0: only the originals)"},
            "seed": {"type": "integer", "minimum": 0},
            "include_originals": {"type": "boolean"},
            "output": {"type": "object", "additionalProperties": False, "properties": {
                "format": {"enum": ["same", "jpeg", "png", "webp"]},
                "quality": {"type": "integer", "minimum": 1, "maximum": 100},
                "size": {"anyOf": [{"type": "null"}, size_schema(nulls=True)]},
                "fit": {"enum": ["stretch", "cover", "contain"]},
                "background": {"type": "number", "minimum": 0, "maximum": 255}}},
            "pipeline": steps,
            "variants": {"type": "object", "additionalProperties": steps,
                         "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$"}},
            "keras": keras_params,
            "balance": {"type": "object", "additionalProperties": False, "required": ["target"], "properties": {
                "target": {"anyOf": [{"const": "max"}, {"type": "integer", "minimum": 1, "maximum": MAX_BALANCE},
                                     {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1,
                                                                                 "maximum": MAX_BALANCE}}]}}},
            "classes": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": False, "properties": {
                    "exclude": {"type": "array", "items": {"enum": sorted(REGISTRY)}},
                    "copies": {"type": "integer", "minimum": 0, "maximum": MAX_COPIES},
                    "pipeline": steps}}},
            "labels": {"type": "object", "additionalProperties": False, "properties": {  # annotated layouts
                "min_visibility": {"type": "number", "minimum": 0, "maximum": 1},
                "min_size": {"type": "number", "minimum": 0, "maximum": 100000},
                "on_empty": {"enum": list(ON_EMPTY)},
                "ignore_index": {"type": "integer", "minimum": 0, "maximum": 65535}}},
        },
        "$defs": {"step": {"anyOf": step_options}},
    }
