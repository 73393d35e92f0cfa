"""Keras' ``ImageDataGenerator(...)`` pasted into a recipe as written, read as
data: ``keras: ImageDataGenerator(rotation_range=40, width_shift_range=0.2)``,
or just its keyword list ``rotation_range=40, width_shift_range=0.2,``.

Nothing is evaluated: the text is parsed with ``ast`` and each value read with
``ast.literal_eval`` (numbers, strings, booleans, None, lists and tuples). A
value that is not a literal (``1./255``, ``preprocess_input``) is kept as its
source text, exactly as YAML would read it, so the recipe's own checks then
accept it (a training-time argument) or say why not.
"""
from __future__ import annotations

import ast
from typing import Any

HOW = ("paste the call as a block (keras: |, then ImageDataGenerator(...) on the next lines), or write a mapping: "
       "keras: {rotation_range: 40, width_shift_range: 0.2}")


def keras_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """The keyword arguments of a pasted call, and None; or {} and what is wrong."""
    call, source = _call(text.strip().rstrip(",").strip())
    if call is None:
        return {}, (f"{_short(text)!r} is not the keyword arguments of ImageDataGenerator(...) as Python writes "
                    f"them; {HOW}")
    if call.args:
        return {}, (f"ImageDataGenerator takes its arguments by name here (found {len(call.args)} without one); "
                    f"{HOW}")
    arguments: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            return {}, f"**{ast.unparse(keyword.value)} cannot be read without running code; {HOW}"
        arguments[keyword.arg] = _value(keyword.value, source)
    return arguments, None


def _call(text: str) -> tuple[ast.Call | None, str]:
    """The call node of ``[name =] Callee(...)`` or of a bare keyword list, and
    the text it was parsed from."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None and len(tree.body) == 1:
        node = tree.body[0]
        value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if isinstance(value, ast.Call):
            return value, text
    wrapped_text = f"_({text})"
    try:
        wrapped = ast.parse(wrapped_text, mode="eval").body
    except (SyntaxError, ValueError):
        return None, text
    return (wrapped, wrapped_text) if isinstance(wrapped, ast.Call) else (None, text)


def _value(node: ast.expr, source: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.get_source_segment(source, node) or ast.unparse(node)  # kept as written, as YAML reads 1./255
    return _plain(value)


def _plain(value: Any) -> Any:
    """Tuples as lists, as YAML gives them; sets and bytes as their text."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
