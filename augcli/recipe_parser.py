"""Plain recipe data (from YAML or Python) checked against the envelope
(``augcli.envelope``) and the op registry, and built into the recipe's frozen
parts. Every problem is collected, with its recipe path and line and a close
match for a typo, so a user fixes a recipe in one pass.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from . import envelope
from .envelope import COMPOSITIONS as _COMPOSITION_KEYS
from .errors import Problem
from .label_rules import LabelRules
from .names import FOREIGN_PARAMS, TRAINING_TIME_OPS, pointer
from .ops import REGISTRY, lookup, suggest
from .ops.spec import Choice, Fixed, Param, Value, close_match, show
from .pasted import keras_arguments
from .recipe_model import (COMPOSITIONS, Balance, ClassRule, OneOf, OpStep, Output, RandomOrder, Sequence, SomeOf,
                           Step, TrainingTimeArgument, class_outcome)

_TOP_KEYS = envelope.TOP_KEYS
_VARIANT_NAME = re.compile(envelope.VARIANT_NAME)
_P = envelope.P


class Parser:
    """Walks the plain data, building frozen values and collecting problems."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.problems: list[Problem] = []
        self.training_time: list[TrainingTimeArgument] = []
        self.sizes: list[tuple[str, tuple[int, int]]] = []

    def output_size(self, value: Any, path: str) -> None:
        """Note the sizes an output may be given (a fixed one, or each of a
        choice); a size with a null side depends on the image, and is checked
        when drawn."""
        values = [(path, value.value)] if isinstance(value, Fixed) else \
            [(f"{path}.choice[{i}]", v) for i, v in enumerate(value.values)] if isinstance(value, Choice) else []
        self.sizes += [(where, tuple(size)) for where, size in values
                       if isinstance(size, tuple) and all(isinstance(side, int) for side in size)]

    def problem(self, path: str, message: str, hint: str | None = None) -> None:
        probe = path  # the nearest enclosing path that has a line (a dict recipe has none)
        while probe and probe not in self.lines:
            shorter = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe)
            probe = shorter if shorter != probe else ""
        self.problems.append(Problem(path, message, self.lines.get(probe), hint))

    def unknown_keys(self, data: dict, allowed: tuple[str, ...], path: str, what: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(_join(path, key), f"{show(key)} is not {what}; allowed: {', '.join(allowed)}",
                             close_match(key, list(allowed)))

    def value(self, param: Param, raw: Any, path: str) -> Value | None:
        parsed, issues = param.parse(raw)
        for issue in issues:
            self.problem(path + issue.sub, issue.message, issue.hint)
        return parsed

    def fixed(self, param: Param, raw: Any, path: str) -> Any:
        """A parameter that takes one value, not a range or choice."""
        issue = param.check(raw)
        if issue:
            self.problem(path, issue.message, issue.hint)
            return param.default
        return param.normalise(raw)

    def recipe(self, data: Any) -> dict[str, Any] | None:
        """The ``Recipe``'s fields from ``data`` (None if it is not a mapping); problems in ``self.problems``."""
        if not isinstance(data, dict):
            self.problem("", f"a recipe is a mapping of keys ({', '.join(_TOP_KEYS)}), found {type(data).__name__}")
            return None
        self.unknown_keys(data, _TOP_KEYS, "", "a recipe key")
        fields: dict[str, Any] = {}
        if "version" in data and data["version"] != envelope.VERSION:
            self.problem("version", f"{show(data['version'])} is not a supported version; allowed: {envelope.VERSION}")
        for param in (envelope.COPIES, envelope.SEED, envelope.INCLUDE_ORIGINALS, envelope.DISTINCT):
            if param.name in data:
                fields[param.name] = self.fixed(param, data[param.name], param.name)
        if "output" in data:
            fields["output"] = self.output(data["output"], "output")
        has_pipeline, has_variants = "pipeline" in data, "variants" in data
        if "keras" in data:
            # ImageDataGenerator arguments pasted as a block: a one-step pipeline
            if has_pipeline or has_variants:
                self.problem(*envelope.conflict("keras", "pipeline" if has_pipeline else "variants"))
            else:
                step = self.op(lookup("keras"), data["keras"], "keras")
                fields["pipeline"] = (step,) if step else ()
        if "keras" in data:
            pass
        elif has_pipeline and has_variants:
            self.problem(*envelope.conflict("pipeline", "variants"))
        elif has_variants:
            if "copies" in data:
                self.problem(*envelope.conflict("variants", "copies"))
            fields["variants"] = self.variants(data["variants"], "variants")
        elif has_pipeline:
            fields["pipeline"] = self.steps(data["pipeline"], "pipeline")
        else:
            self.problem("", envelope.NO_STEPS)
        if "balance" in data:
            if has_variants:
                self.problem(*envelope.conflict("variants", "balance"))
            elif "copies" in data:
                self.problem(*envelope.conflict("balance", "copies"))
            fields["balance"] = self.balance(data["balance"], "balance")
        if "classes" in data:
            fields["classes"] = self.classes(data["classes"], "classes")
        if "labels" in data:
            fields["labels"] = self.labels(data["labels"], "labels")
        if not has_variants:  # (a keras block is a one-step pipeline)
            self.identical_copies(data, fields)
        return fields

    def identical_copies(self, data: dict, fields: dict) -> None:
        """A copy drawn from no ops equals its original: asking for one is a recipe
        error, not a dataset quietly padded with duplicates."""
        copies, balance = fields.get("copies", 1), fields.get("balance")
        if copies == 0 and balance is None and not fields.get("include_originals", True):
            self.problem("copies", envelope.NOTHING_WRITTEN)
        empty = data.get("pipeline") == []
        if empty and balance is not None:
            self.problem("pipeline", envelope.EMPTY_FOR_BALANCE)
        elif empty and copies:
            self.problem("pipeline", envelope.EMPTY_PIPELINE.format(copies))
        raw_rules = data.get("classes") if isinstance(data.get("classes"), dict) else {}
        for label, rule in fields.get("classes", ()):
            outcome = class_outcome(label, rule, copies, balance, fields.get("pipeline", ()), ())
            count = outcome.copies
            if count == 0 or (rule.pipeline is None and empty):  # no copies, or reported once for the pipeline
                continue
            its = "its copies" if count is None else f"its {count} copies"
            if rule.pipeline == () and raw_rules.get(label, {}).get("pipeline") == []:
                self.problem(f"classes.{label}.pipeline", f"an empty pipeline would make {its} equal the "
                                                          "original; add steps, or give the class copies: 0")
            elif rule.exclude and not outcome.steps:
                self.problem(f"classes.{label}.exclude", f"excluding {', '.join(rule.exclude)} leaves class "
                                                         f"{label} no ops, so {its} would equal the original; "
                                                         "give it copies: 0 or a pipeline of its own")

    def balance(self, data: Any, path: str) -> Balance | None:
        if not isinstance(data, dict) or "target" not in data:
            self.problem(path, f"balance is {{target: max}}, {{target: 500}} or {{target: {{cat: 300}}}}, "
                               f"found {show(data)}")
            return None
        self.unknown_keys(data, ("target",), path, "a key of balance")
        target = data["target"]
        count = envelope.BALANCE_TARGET
        if target == "max":
            return Balance("max")
        if isinstance(target, dict) and target:
            for label, value in target.items():
                if issue := count.check(value):
                    self.problem(f"{path}.target.{label}", issue.message)
            return Balance(tuple((str(k), v) for k, v in target.items()))
        if issue := count.check(target):
            self.problem(f"{path}.target", f"{issue.message}, 'max', or a mapping of class -> count")
            return None
        return Balance(target)

    def classes(self, data: Any, path: str) -> tuple:
        if not isinstance(data, dict):
            self.problem(path, f"classes is a mapping of class name -> {{exclude, copies, pipeline}}, found {show(data)}")
            return ()
        rules = []
        for label, rule in data.items():
            sub = _join(path, label)
            if not isinstance(rule, dict):
                self.problem(sub, f"a class rule is a mapping with exclude, copies or pipeline, found {show(rule)}")
                continue
            self.unknown_keys(rule, envelope.CLASS_RULE_KEYS, sub, "a class rule key")
            exclude = rule.get("exclude", [])
            if not isinstance(exclude, list):
                self.problem(f"{sub}.exclude", f"exclude is a list of op names, found {show(exclude)}")
                exclude = []
            for i, name in enumerate(exclude):
                if lookup(name) is None:  # (a plugin's op counts: lookup loads plugins)
                    self.problem(f"{sub}.exclude[{i}]", f"unknown op {show(name)}", suggest(str(name)))
            copies = None
            if "copies" in rule:
                copies = self.fixed(envelope.COPIES, rule["copies"], f"{sub}.copies")
            pipeline = self.steps(rule["pipeline"], f"{sub}.pipeline") if "pipeline" in rule else None
            rules.append((str(label), ClassRule(tuple(map(str, exclude)), copies, pipeline)))
        return tuple(rules)

    def labels(self, data: Any, path: str) -> LabelRules:
        """``labels:`` (annotated layouts): rules for boxes that leave the frame, the mask fill."""
        keys = envelope.LABELS_KEYS
        if not isinstance(data, dict):
            self.problem(path, f"labels is a mapping ({', '.join(keys)}), found {show(data)}")
            return LabelRules()
        self.unknown_keys(data, keys, path, "a labels key")
        return LabelRules(**{param.name: self.fixed(param, data.get(param.name, param.default), f"{path}.{param.name}")
                             for param in envelope.LABELS})

    def output(self, data: Any, path: str) -> Output:
        keys = envelope.OUTPUT_KEYS
        if not isinstance(data, dict):
            self.problem(path, f"output is a mapping ({', '.join(keys)}), found {show(data)}")
            return Output()
        self.unknown_keys(data, keys, path, "an output key")
        settings = {param.name: self.fixed(param, data.get(param.name, param.default), f"{path}.{param.name}")
                    for param in envelope.OUTPUT}
        self.output_size(Fixed(settings["size"]), f"{path}.size")
        return Output(**settings)

    def variants(self, data: Any, path: str) -> tuple:
        if not isinstance(data, dict) or not data:
            self.problem(path, "variants is a mapping of name -> list of steps, e.g. {hflip: [hflip]}")
            return ()
        out = []
        for name, steps in data.items():
            sub = _join(path, name)
            if not isinstance(name, str) or not _VARIANT_NAME.match(name):
                self.problem(sub, f"variant name {show(name)} must be letters, digits, '_' or '-' "
                                  "(it becomes part of file names)")
            out.append((str(name), self.steps(steps if isinstance(steps, list) else [steps], sub)))
        return tuple(out)

    def steps(self, data: Any, path: str) -> tuple[Step, ...]:
        if not isinstance(data, list):
            self.problem(path, f"expected a list of steps (each '- opname: {{...}}'), found {show(data)}")
            return ()
        return tuple(s for i, item in enumerate(data) if (s := self.step(item, f"{path}[{i}]")) is not None)

    def step(self, item: Any, path: str) -> Step | None:
        if isinstance(item, str):
            name, args = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
        elif isinstance(item, dict) and item:
            names = [k for k in item if k in REGISTRY or k in COMPOSITIONS]
            extra = ", ".join(str(k) for k in item if k not in names)
            hint = f" (indent {extra} under {names[0]}?)" if len(names) == 1 else ""
            self.problem(path, f"a step is one op name with its parameters, found keys "
                               f"{', '.join(map(str, item))}{hint}")
            return None
        else:
            self.problem(path, f"a step is an op name or {{opname: {{params}}}}, found {show(item)}")
            return None
        if not isinstance(name, str):
            self.problem(path, f"{show(name)} is not an op name")
            return None
        if name in COMPOSITIONS:
            return self.composition(name, args, _join(path, name))
        spec = lookup(name)
        if spec is None and name in TRAINING_TIME_OPS:  # Normalize, ToTensor: noticed like Keras' rescale
            self.training_time.append(TrainingTimeArgument(_join(path, name), args if args is not None else True,
                                                           TRAINING_TIME_OPS[name], self.lines.get(_join(path, name))
                                                           or self.lines.get(path)))
            return None
        if spec is None:
            self.unknown_op(name, _join(path, name), args)
            return None
        return self.op(spec, args, _join(path, name))

    def unknown_op(self, name: str, path: str, args: Any = None) -> None:
        elsewhere = pointer(name, args)
        if elsewhere:
            self.problem(path, f"unknown op {show(name)}: {elsewhere}")
        else:
            self.problem(path, f"unknown op {show(name)}; see 'augcli transforms' for the list", suggest_step(name))

    def op(self, spec, args: Any, path: str) -> OpStep | None:
        if args is None:
            args = {}
        if spec.name == "keras" and isinstance(args, str):  # ImageDataGenerator(...) pasted as written
            args, problem = keras_arguments(args)
            if problem:
                self.problem(path, problem)
                return None
        if not isinstance(args, dict):
            self.problem(path, f"parameters of {spec.name} are a mapping like {{p: 0.5}}, found {show(args)}")
            return None
        names = tuple(p.name for p in spec.params) + ("p",)
        for key in [k for k in args if k in spec.refused]:
            self.problem(f"{path}.{key}", f"{key} is not supported: {spec.refused[key]}")
        for key in [k for k in args if k in spec.training_time]:
            self.training_time.append(TrainingTimeArgument(f"{path}.{key}", args[key], spec.training_time[key],
                                                           self.lines.get(f"{path}.{key}") or self.lines.get(path)))
        foreign = [k for k in args if (spec.name, k) in FOREIGN_PARAMS]
        for key in foreign:
            self.problem(f"{path}.{key}", FOREIGN_PARAMS[(spec.name, key)])
        accepted = set(spec.refused) | set(spec.training_time) | set(foreign)
        self.unknown_keys({k: v for k, v in args.items() if k not in accepted}, names, path,
                          f"a parameter of {spec.name}")
        params = []
        for param in spec.params:
            if param.name in args:
                parsed = self.value(param, args[param.name], f"{path}.{param.name}")
                if parsed is not None:
                    params.append((param.name, parsed))
            elif param.required and not foreign:  # with a foreign parameter, the pointer says it all
                self.problem(path, f"{spec.name} needs {param.name} ({param.allowed()})")
            else:
                # a default may itself be a range (random_resized_crop's scale)
                params.append((param.name, param.parse(param.default)[0] if isinstance(param.default, list)
                               else Fixed(param.default)))
        if spec.out_size is not None:  # an op that sets the size (resize): bounded like any output
            for name, value in params:
                if spec.param(name).type.sized:
                    self.output_size(value, f"{path}.{name}")
        if spec.prepare is not None and not any(within(p.path, path) for p in self.problems):
            params = self.prepared(spec, params, path)
        p = self.fixed(_P, args.get("p", 1.0), f"{path}.p")
        return OpStep(spec.name, tuple(params), float(p))

    def prepared(self, spec, params: list, path: str) -> list:
        """An op's own checks of its fixed values (a model file that must load),
        and the values they fill in (the file's sha256)."""
        updates, found = spec.prepare({name: v.value for name, v in params if isinstance(v, Fixed)})
        for name, message in found:
            self.problem(f"{path}.{name}", message)
        return [(name, Fixed(updates[name]) if name in updates else value) for name, value in params]

    def composition(self, name: str, args: Any, path: str) -> Step | None:
        allowed = _COMPOSITION_KEYS[name]
        of_path = f"{path}.of"
        if isinstance(args, list) and name != "some_of":
            args, of_path = {"of": args}, path
        if not isinstance(args, dict) or "of" not in args:
            form = "{n: [1, 2], of: [...]}" if name == "some_of" else "a list of steps, or {of: [...], p: 0.5}"
            self.problem(path, f"{name} takes {form}, found {show(args)}")
            return None
        self.unknown_keys(args, allowed, path, f"a key of {name}")
        steps = self.steps(args["of"], of_path)
        if isinstance(args["of"], list) and not args["of"]:
            self.problem(of_path, f"{name} needs at least one step")
        p = float(self.fixed(_P, args.get("p", 1.0), f"{path}.p"))
        if name == "one_of":
            return OneOf(steps, p)
        if name == "sequence":
            return Sequence(steps, p)
        if name == "random_order":
            return RandomOrder(steps, p)
        if "n" not in args:
            self.problem(path, "some_of needs n, how many of its steps to apply (a number or a range [lo, hi])")
            return None
        count = len(args["of"]) if isinstance(args["of"], list) else 0
        n = self.value(replace(envelope.SOME_OF_N, hi=count), args["n"], f"{path}.n")
        return SomeOf(n, steps, p) if n is not None else None


def suggest_step(name: str) -> str | None:
    """The op or composition closest to a misspelt step name."""
    return close_match(name, sorted(REGISTRY) + list(COMPOSITIONS))


def within(path: str, parent: str) -> bool:
    """``path`` is ``parent`` or below it."""
    return path == parent or path.startswith(parent + ".") or path.startswith(parent + "[")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


