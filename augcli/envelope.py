"""The recipe envelope, declared once: its top-level keys, the output settings,
balance, class rules and the compositions, each with its kind and bounds
(``Param``, as op parameters are declared), and the rules that tie keys
together. The recipe parser checks a recipe against these declarations and
``catalogue.json_schema`` writes them as JSON Schema, so ``augcli validate``
and an editor cannot disagree (``tests/test_grammar_agreement.py``).
"""
from __future__ import annotations

from .label_rules import ON_EMPTY
from .limits import MAX_BALANCE, MAX_COPIES, MAX_SEED
from .ops.spec import Param

VERSION = 1

COPIES = Param("copies", "int", 1, 0, MAX_COPIES, doc="augmented outputs per source image (0: only the originals)")
SEED = Param("seed", "int", 0, 0, MAX_SEED, doc="the run seed (default 0): the same seed, the same dataset")
INCLUDE_ORIGINALS = Param("include_originals", "bool", True, doc="write each source image as well")
DISTINCT = Param("distinct", "bool", False, doc="copies of one image never repeat each other or the original: a "
                                               "repeat is drawn again (distinct.py)")

OUTPUT_FORMATS = ("same", "jpeg", "png", "webp")
FIT_MODES = ("stretch", "cover", "contain")
OUTPUT = (
    Param("format", "enum", "same", choices=OUTPUT_FORMATS, doc="file format written (same: the source's)"),
    Param("quality", "int", 95, 1, 100, doc="JPEG and WebP quality"),
    Param("size", "size", None, nullable=True, doc="[width, height] every output is finished to, last"),
    Param("fit", "enum", "stretch", choices=FIT_MODES, doc="how size is reached: stretch, cover or contain"),
    Param("background", "float", 255, 0, 255, doc="grey behind transparent pixels and letterbox bars"),
)
OUTPUT_KEYS = tuple(p.name for p in OUTPUT)

P = Param("p", "float", 1.0, 0, 1, doc="probability that the step applies")
BALANCE_TARGET = Param("target", "int", 1, 1, MAX_BALANCE, doc="images per class after balancing")
VARIANT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"  # it becomes part of file names
CLASS_RULE_KEYS = ("exclude", "copies", "pipeline")  # copies is COPIES

# composition -> its keys; some_of's n is an int of at most the number of its steps
COMPOSITIONS = {"one_of": ("of", "p"), "some_of": ("n", "of", "p"), "sequence": ("of", "p"),
                "random_order": ("of", "p")}
SOME_OF_N = Param("n", "int", None, 0, doc="how many of its steps: an integer, a range [lo, hi] or a choice")

# annotated layouts (augcli.layouts): what happens to objects the geometry pushes out, the mask's fill
LABELS = (
    Param("min_visibility", "float", 0.0, 0, 1, doc="drop a box less than this fraction of which is left in the frame"),
    Param("min_size", "float", 1.0, 0, 100000, doc="drop a box whose visible part is narrower or lower than this (px)"),
    Param("on_empty", "enum", "keep", choices=ON_EMPTY, doc="an output that lost every object: keep, redraw or skip"),
    Param("ignore_index", "int", 0, 0, 65535, doc="the mask value where the border brings pixels in"),
)
LABELS_KEYS = tuple(p.name for p in LABELS)

TOP_KEYS = ("version", "copies", "seed", "include_originals", "distinct", "output", "pipeline", "variants", "keras",
            "balance", "classes", "labels")
# where the steps come from: exactly one of these
STEP_SOURCES = ("pipeline", "variants", "keras")
NO_STEPS = "the recipe needs a pipeline (applied to each of copies outputs) or variants"

# (key, key, the key a problem is reported at, why) for keys that exclude each other
EXCLUSIVE = (
    ("keras", "pipeline", "keras", "use keras: on its own, or as a step '- keras: {...}' inside the pipeline"),
    ("keras", "variants", "keras", "use keras: on its own, or as a step '- keras: {...}' inside the pipeline"),
    ("pipeline", "variants", "variants", "a recipe has either a pipeline (with copies) or variants, not both"),
    ("variants", "copies", "copies", "copies does not apply with variants: each variant is one output"),
    ("variants", "balance", "balance", "balance needs a pipeline: variants are one output each"),
    ("variants", "distinct", "distinct", "distinct applies to the copies of a pipeline; variants are drawn once each"),
    ("balance", "copies", "copies", "copies does not apply with balance: balance sets each class's count (a class a "
                                    "per-class target does not name gets no new images; give it a count, or its "
                                    "own copies under classes:)"),
)


def conflict(first: str, second: str) -> tuple[str, str]:
    """Where and why a recipe may not hold both ``first`` and ``second``."""
    return next((where, why) for a, b, where, why in EXCLUSIVE if {a, b} == {first, second})


# Copies drawn from no ops equal their originals: asking for any is a recipe error
EMPTY_PIPELINE = ("an empty pipeline would write {} identical copies of each image; add steps, or set copies: 0 to "
                  "write only the originals")
EMPTY_FOR_BALANCE = ("an empty pipeline would write identical copies of each image to balance the classes; "
                     "add steps")
NOTHING_WRITTEN = "0 with include_originals: false writes nothing"
