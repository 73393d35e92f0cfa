"""augcli: offline image dataset augmentation.

A class-per-folder image tree and a YAML recipe in; an augmented copy tree and
a manifest out. The Python API mirrors the CLI (which is a thin layer over it)::

    import augcli
    recipe = augcli.Recipe.from_yaml("copies: 4\\npipeline: [{rotate: {angle: [-15, 15]}}]")
    recipe = augcli.Recipe.load("my-recipe.yaml")       # or a built-in name, or a dict
    sheet = augcli.preview("data/", recipe)            # a PIL image
    summary = augcli.expand("data/", "out/", recipe=recipe, jobs=2)
    aug = augcli.Augmenter(recipe)                     # the same ops, in memory
    image, record = aug(array, key="cat/1.jpg", copy=1)  # expand's pixels for that copy

Importing augcli does no work and loads no heavy module; the names below are
imported on first use.
"""
from __future__ import annotations

__version__ = "0.3.0"
__all__ = ["expand", "preview", "replay", "verify", "Augmenter", "Recipe", "AugcliError", "RecipeError", "__version__"]

_LAZY = {
    "expand": ("_expand", "expand"),
    "preview": ("_preview", "preview"),
    "replay": ("_replay", "replay"),
    "verify": ("_verify", "verify"),
    "Augmenter": ("augmenter", "Augmenter"),
    "Recipe": ("recipe", "Recipe"),
    "AugcliError": ("errors", "AugcliError"),
    "RecipeError": ("errors", "RecipeError"),
}


def __dir__() -> list[str]:
    # the lazy names too, so dir() and tab completion find the API
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'augcli' has no attribute {name!r}")
