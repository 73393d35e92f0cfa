"""Deferred imports for the op modules.

``validate``, ``transforms`` and ``schema`` only read the registry's parameter
schemas; numpy and Pillow would be most of their start-up time. An op module
writes ``np = lazy("numpy")`` and the real import happens at the first
attribute use, which in a worker is the first image.
"""
from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr: str) -> Any:
        # Runs only for names not yet copied: the first use, and names a module
        # sets later (numpy's own lazily loaded submodules).
        module = importlib.import_module(self._name)
        self.__dict__.update(vars(module))
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    return LazyModule(name)


def opencv() -> Any:
    """OpenCV, imported on first use and set to one thread: augcli runs one
    worker per core already (``-j N`` means N cores), and OpenCV's own thread
    pool in every worker would only oversubscribe them."""
    global _CV2
    if _CV2 is None:
        import cv2

        cv2.setNumThreads(1)
        _CV2 = cv2
    return _CV2


_CV2 = None
