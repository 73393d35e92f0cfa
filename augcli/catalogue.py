"""Documentation generated from the op registry: ``augcli transforms``, the
README's op table and the recipe JSON Schema. One source of truth, so the
docs cannot drift from the code (a test regenerates the README table)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import envelope
from .ops import REGISTRY
from .ops.registry import every_op
from .ops.spec import REQUIRED, OpSpec, Param, show
from .recipe import COMPOSITION_DOCS

CATEGORIES = ("geometric", "colour", "noise", "model", "policy")


def _categories(specs) -> list[str]:
    """The known categories, then any other a plugin op names."""
    return list(CATEGORIES) + sorted({s.category for s in specs} - set(CATEGORIES))


def origin(spec: OpSpec) -> str:
    """Where an op comes from, when not from augcli: '[plugin augcli-sepia 1.0]'."""
    return f"[plugin {spec.plugin[0]} {spec.plugin[1]}]" if spec.plugin else ""


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
    """The Markdown table of augcli's own ops, grouped by category (for the README)."""
    rows = ["| op | parameters (default) | what it does |", "| --- | --- | --- |"]
    for category in CATEGORIES:
        for name, spec in REGISTRY.items():
            if spec.plugin:
                continue
            if spec.category == category:
                rows.append(f"| `{name}` | {params_line(spec).replace('|', '/')} | {spec.doc} |")
    return "\n".join(rows) + "\n"


def listing() -> str:
    """``augcli transforms``: one line per op (a plugin's marked with its package
    and version), then the compositions."""
    ops = every_op()
    width = max(map(len, ops))
    lines = []
    for category in _categories(ops.values()):
        named = [(name, spec) for name, spec in ops.items() if spec.category == category]
        if named:
            lines.append(f"{category}:")
        for name, spec in named:
            lines.append(f"  {name:<{width}}  {params_line(spec)}" + (f"  {origin(spec)}" if spec.plugin else ""))
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
    where = f", {origin(spec)[1:-1]}" if spec.plugin else ""
    lines = [f"{spec.name} ({spec.category}{where}): {spec.doc}", "", "parameters:"]
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
    props["p"] = _fixed_schema(envelope.P)
    props.update({k: {"description": f"accepted, not applied: {why}"} for k, why in spec.training_time.items()})
    params = {"type": ["object", "null"], "properties": props, "additionalProperties": False,
              "required": [p.name for p in spec.params if p.required]}
    doc = f"{spec.doc} {origin(spec)}" if spec.plugin else spec.doc
    return {"type": "object", "description": doc, "properties": {spec.name: params},
            "required": [spec.name], "additionalProperties": False}


def _fixed_schema(param: Param) -> dict[str, Any]:
    """A setting that takes one value (no range, no choice)."""
    base = param.type.schema(param)
    if param.nullable:
        base = {"anyOf": [{"type": "null"}, base]}
    return {"description": param.doc, **base} if param.doc else base


# the schema checks some_of's n against the number of its steps for lists of up to this
# many steps (JSON Schema cannot compare a value with a length; validate checks every n)
SOME_OF_CHECKED = 32


def _some_of_schema(steps: dict) -> dict[str, Any]:
    keys = envelope.COMPOSITIONS["some_of"]
    fewer = [{"if": {"properties": {"of": {"maxItems": k}}},
              "then": {"properties": {"n": _value_schema(replace(envelope.SOME_OF_N, hi=k))}}}
             for k in range(SOME_OF_CHECKED)]
    return {"type": "object", "additionalProperties": False, "required": list(keys[:2]),
            "properties": {"n": _value_schema(envelope.SOME_OF_N), "of": steps, "p": _fixed_schema(envelope.P)},
            "allOf": fewer}


def _exclusions() -> list[dict[str, Any]]:
    """The rules that tie top-level keys together (``envelope``), as the parser applies them."""
    rules: list[dict[str, Any]] = [{"anyOf": [{"required": [key]} for key in envelope.STEP_SOURCES]}]
    rules += [{"not": {"required": [a, b]}} for a, b, _, _ in envelope.EXCLUSIVE]
    # an empty pipeline writes identical copies unless none are asked for (EMPTY_PIPELINE, EMPTY_FOR_BALANCE)
    rules.append({"if": {"required": ["pipeline"], "properties": {"pipeline": {"maxItems": 0}}},
                  "then": {"required": ["copies"], "properties": {"copies": {"const": 0}}}})
    # no copies and no originals write nothing (NOTHING_WRITTEN)
    rules.append({"not": {"required": ["copies", "include_originals"],
                          "properties": {"copies": {"const": 0}, "include_originals": {"const": False}}}})
    return rules


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of recipe version 1, for editors, written
    from the op registry and the recipe envelope (``augcli.envelope``)."""
    step_ref = {"$ref": "#/$defs/step"}
    steps = {"type": "array", "items": step_ref}
    listed = {**steps, "minItems": 1}
    composition = {
        name: {"anyOf": [listed, {"type": "object", "properties": {"of": listed, "p": _fixed_schema(envelope.P)},
                                  "required": ["of"], "additionalProperties": False}]}
        for name in envelope.COMPOSITIONS if name != "some_of"
    }
    composition["some_of"] = _some_of_schema(listed)
    ops = every_op()  # the installed plugins' ops included
    step_options = [{"enum": sorted(ops)}]
    step_options += [_op_schema(spec) for spec in ops.values()]
    step_options += [{"type": "object", "properties": {k: v}, "required": [k], "additionalProperties": False}
                     for k, v in composition.items()]
    keras_params = _op_schema(REGISTRY["keras"])["properties"]["keras"]
    balance_count = envelope.BALANCE_TARGET.type.schema(envelope.BALANCE_TARGET)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"augcli recipe, version {envelope.VERSION}",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"const": envelope.VERSION},
            "copies": _fixed_schema(envelope.COPIES),
            "seed": _fixed_schema(envelope.SEED),
            "include_originals": _fixed_schema(envelope.INCLUDE_ORIGINALS),
            "distinct": _fixed_schema(envelope.DISTINCT),
            "output": {"type": "object", "additionalProperties": False,
                       "properties": {param.name: _fixed_schema(param) for param in envelope.OUTPUT}},
            "pipeline": steps,
            "variants": {"type": "object", "minProperties": 1, "additionalProperties": {"anyOf": [steps, step_ref]},
                         "propertyNames": {"pattern": envelope.VARIANT_NAME}},
            "keras": keras_params,
            "balance": {"type": "object", "additionalProperties": False, "required": ["target"], "properties": {
                "target": {"anyOf": [{"const": "max"}, balance_count,
                                     {"type": "object", "minProperties": 1,
                                      "additionalProperties": balance_count}]}}},
            "classes": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": False, "properties": {
                    "exclude": {"type": "array", "items": {"enum": sorted(ops)}},
                    "copies": _fixed_schema(envelope.COPIES),
                    "pipeline": steps}}},
            "labels": {"type": "object", "additionalProperties": False,  # annotated layouts
                       "properties": {param.name: _fixed_schema(param) for param in envelope.LABELS}},
        },
        "allOf": _exclusions(),
        "$defs": {"step": {"anyOf": step_options}},
    }
