"""Recipe YAML read into plain data, with the line every recipe path starts on
(for messages), within the bounds of ``limits``: safe-load semantics (a
``!!python/...`` tag is a problem, never executed), bounded nesting, bounded
values once aliases are expanded, no number too long to print.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import Problem
from .limits import MAX_DEPTH, MAX_EXPANDED_CHARS, MAX_RECIPE_BYTES, MAX_VALUES
from .ops.spec import show

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}

class _TooDeep(yaml.YAMLError):
    def __init__(self, line: int):
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents nested more than ``MAX_DEPTH`` deep
    (its composer recurses once per level)."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _TooMany(Exception):
    """More values than ``MAX_VALUES`` (or characters than ``MAX_EXPANDED_CHARS``)
    once aliases are expanded; the message says which."""


def read_yaml(text: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """Parse YAML into plain data plus a map from recipe path to line number."""
    if len(text) > MAX_RECIPE_BYTES:  # (a str given to from_yaml; load reads at most this)
        return None, {}, [Problem("", f"the recipe is {len(text):,} characters; at most {MAX_RECIPE_BYTES:,}")]
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except _TooDeep as exc:
        return None, {}, [Problem("", f"the recipe is nested more than {MAX_DEPTH} levels deep", exc.line)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, {}, [Problem("", f"not valid YAML: {exc.problem or exc.context}", line)]
    except yaml.YAMLError as exc:
        return None, {}, [Problem("", f"not valid YAML: {exc}")]
    if root is None:
        return {}, {}, []
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    count = chars = 0

    def build(node: yaml.Node, path: str) -> Any:
        nonlocal count, chars
        count += 1  # every value, each time an alias repeats it
        if isinstance(node, yaml.ScalarNode):
            chars += len(node.value)  # and every character of it: one long string repeated is as costly
        if count > MAX_VALUES:
            raise _TooMany(f"{MAX_VALUES:,} values")
        if chars > MAX_EXPANDED_CHARS:
            raise _TooMany(f"{MAX_EXPANDED_CHARS:,} characters of keys and values")
        line = node.start_mark.line + 1
        lines.setdefault(path, line)
        if node.tag not in _PLAIN_TAGS:
            problems.append(Problem(path, f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not "
                                          "allowed: recipes are plain YAML (maps, lists, strings, numbers)", line))
            return None
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = build(key_node, path)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    problems.append(Problem(path, f"{show(key)} cannot be a key", key_node.start_mark.line + 1))
                    continue
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    problems.append(Problem(sub, "duplicate key", key_node.start_mark.line + 1))
                lines[sub] = key_node.start_mark.line + 1
                out[key] = build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        try:
            value = constructor.construct_object(node)
        except ValueError:  # Python refuses int("9" * 5000)
            value = None
        else:
            if not (isinstance(value, int) and value.bit_length() > 256):
                return value
        # no recipe needs such a number, and Python will not even print it
        problems.append(Problem(path, f"a number too long to read ({len(node.value):,} characters)", line))
        return None

    try:
        return build(root, ""), lines, problems
    except _TooMany as exc:
        return None, {}, [Problem("", f"the recipe has more than {exc} (counting every repeat of a YAML alias "
                                      "*name); recipes are much smaller")]


