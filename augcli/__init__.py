"""augcli: offline image dataset augmentation.

A class-per-folder image tree and a YAML recipe in; an augmented copy tree and
a manifest out. The Python API mirrors the CLI::

    import augcli
    summary = augcli.expand("data/", "out/", recipe="recipes/flips.yaml", jobs=2)

Importing augcli does no work and loads no heavy module; the API names below
are imported on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["expand", "Recipe", "__version__"]


def __getattr__(name: str):
    if name == "expand":
        from .expand import expand

        return expand
    if name == "Recipe":
        from .recipe import Recipe

        return Recipe
    raise AttributeError(f"module 'augcli' has no attribute {name!r}")
