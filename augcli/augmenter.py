"""The recipe in memory: augment one image at a time inside a training loop.

``Augmenter`` is a second door into the ops ``expand`` runs, not a second
implementation: it draws with the worker's keyed generator (``item_rng``), the
plan's steps (``steps_for``) and ``sample``, and renders with
``augcli.render.augment`` (ops, then the output step), as expand does. So ``aug(image, key=relpath, copy=k)``
is the image ``expand`` encodes for that source and copy, and its record holds
the ops exactly as ``manifest.jsonl`` does.

Images stay numpy arrays from the caller's array to the result (no Pillow image
in between: ``augcli.imaging``); a PIL image in gives a PIL image back.

An ``Augmenter`` holds only the validated recipe, the seed and the layout, all immutable:
it pickles (DataLoader workers, joblib) and any number of threads may call it.
Like ``expand`` in its own processes, it sets two process-wide things where it
is created or unpickled: OpenCV's thread count to 1 (on first use) and glibc's
malloc to keep freed buffers (``worker.keep_freed_memory``): each image
allocates several image-sized buffers, and faulting fresh pages in for each
costs more than the whole resample.
"""
from __future__ import annotations

import os
import warnings
from numbers import Integral
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from .arguments import check_seed
from .distinct import draws
from .imaging import from_pil, mode_of, size_of, to_pil
from .io import Encoding
from .limits import DEFAULT_MAX_PIXELS
from .plan import steps_for
from .scan import SPLITS
from .recipe import Output, Recipe
from .render import augment
from .sampling import item_rng, sample
from .worker import keep_freed_memory

# numpy dtypes and channels, and the working mode each is augmented in (augcli.imaging)
_ARRAY_MODES = {
    ("u", 1, 1): "L",
    ("u", 1, 2): "LA",
    ("u", 1, 3): "RGB",
    ("u", 1, 4): "RGBA",
    ("u", 2, 1): "I;16",
    ("f", 4, 1): "F",
    ("f", 8, 1): "F",
    ("f", 4, 3): "RGBF",
    ("f", 8, 3): "RGBF",
}
SUPPORTED_ARRAYS = ("uint8 HxW, HxWx1, HxWx2 (grey + alpha), HxWx3 (RGB) or HxWx4 (RGBA); "
                    "uint16 HxW or HxWx1; float32 or float64 HxW, HxWx1 or HxWx3 (RGB) in 0..1; "
                    "channels first (CxHxW) with layout='CHW'")
LAYOUTS = ("HWC", "CHW")


class Augmenter:
    """A recipe applied to one in-memory image per call.

    Parameters
    ----------
    recipe : Recipe, str, os.PathLike or dict
        A validated ``Recipe``, the path of a recipe file, or the recipe as a dict
        (what the YAML would load to). Validated once, here, with the CLI's errors
        (``RecipeError`` listing every problem). The same file ``expand`` reads:
        settings that only mean something for the files it writes (``copies``,
        ``balance``, ``include_originals``, ``output.format``,
        ``output.quality``) are ignored and listed on ``ignored``; per-class
        rules (``classes:``) apply by the class in ``key`` (or ``label=``);
        ``output.size`` is applied, last, as ``expand`` applies it.
    seed : int, optional
        The run seed; defaults to the recipe's (0 if it has none), as ``expand``.
    layout : {"HWC", "CHW"}
        Where arrays keep their channels: last (numpy, PIL, OpenCV) or first
        (torch tensors as numpy). Images come back in the same layout.
    max_pixels : int, optional
        The most pixels an image may have at any step (``expand --max-pixels``;
        0: no limit): past it a call raises ``ValueError`` before allocating it.

    Examples
    --------
    >>> aug = Augmenter("recipes/standard.yaml")                    # doctest: +SKIP
    >>> image, record = aug(array, key="cat/cat_001.jpg", copy=2)   # doctest: +SKIP
    >>> image, record = aug(array, key="cat/cat_001.jpg", epoch=5)  # doctest: +SKIP
    """

    def __init__(self, recipe: Recipe | str | os.PathLike | dict, seed: int | None = None, *,
                 layout: str = "HWC", max_pixels: int = DEFAULT_MAX_PIXELS):
        recipe = _as_recipe(recipe, max_pixels)
        recipe.check_sizes(max_pixels)  # output sizes written in it, as expand bounds them
        self.recipe = recipe
        # the same recipe file as expand's: what only files need is ignored here, and listed
        self.ignored: dict[str, str] = ignored_settings(recipe)
        self.seed = recipe.effective_seed if seed is None else _check_seed(seed)
        self.layout = _check_layout(layout)
        self.max_pixels = max_pixels
        for notice in recipe.notices():  # training-time keras arguments, as the CLI notices them
            warnings.warn(notice, stacklevel=2)
        keep_freed_memory()

    def __setstate__(self, state: dict) -> None:
        """Unpickled in a loader's worker process: settle in as ``expand``'s workers do."""
        self.__dict__.update(state)
        keep_freed_memory()

    def __repr__(self) -> str:
        layout = "" if self.layout == "HWC" else f", layout={self.layout!r}"
        return f"Augmenter({self.recipe.name!r}, seed={self.seed}{layout})"

    def __call__(self, image: Any, *, key: str | None = None, copy: int = 1, epoch: int | None = None,
                 rng: np.random.Generator | None = None, layout: str | None = None,
                 label: str | None = None, boxes: Any = None, classes: Any = None, mask: Any = None) -> tuple:
        """Augment one image; return it (same type, dtype and number of dimensions)
        and its record.

        Parameters
        ----------
        image : PIL.Image.Image or numpy.ndarray
            A PIL image in any mode (converted to its working mode as ``expand``
            converts a decoded file, and returned in that mode), or an array: see
            ``SUPPORTED_ARRAYS``. Pass it as ``expand`` decodes the file (upright per
            EXIF orientation, first frame) to get the pixels ``expand`` writes.
        key : str
            The source's path relative to SRC, with ``/`` separators, as the
            manifest's ``source`` (``"cat/cat_001.jpg"``). Keys the draws.
        copy : int
            The copy index, 1..: ``key`` and ``copy`` alone give the draws of the
            file ``expand`` writes as copy ``copy``. With variants, the variant at
            that position (1-based, as ``expand`` numbers them).
        epoch : int, optional
            Fresh draws per training epoch, still reproducible: keyed by
            ``(seed, key, copy, epoch)``. Never equal to any copy ``expand`` writes.
        rng : numpy.random.Generator, optional
            Draw from this generator instead of from a key (no ``key``/``epoch``).
        layout : {"HWC", "CHW"}, optional
            Where an array keeps its channels; defaults to the ``Augmenter``'s
            ``layout`` ("HWC"). A CxHxW array comes back CxHxW.
        label : str, optional
            The image's class, for the recipe's per-class rules (``classes:``);
            by default the class folder in ``key``, as ``expand`` reads it
            (``cat/x.jpg`` and ``train/cat/x.jpg`` are class ``cat``).
        boxes, classes, mask : optional
            Annotations that move with the pixels, as ``expand`` moves a labelled
            dataset's: ``boxes`` (n, 4) [x0, y0, x1, y1] in pixels (edges: [0, 0,
            w, h] is the whole image), ``classes`` (n,) integers (default 0), and
            ``mask`` an (h, w) uint8/uint16 label map. Given any of them, the call
            returns ``(image, labels, record)``: ``labels`` holds ``boxes``,
            ``classes`` (clipped, dropped under the recipe's ``labels:`` rules) and
            ``mask``; ``record["labels"]`` counts kept / clipped / dropped.

        Returns
        -------
        image
            The augmented image. Its size changes when the recipe crops or sets
            ``output.size``; its channels only when the recipe changes them
            (``grayscale: {channels: 1}``).
        record : dict
            ``source``, ``copy``, ``epoch`` (when given), ``variant`` (with
            variants), ``seed`` (the 32-bit number the manifest records; None with
            ``rng``) and ``ops``: the ops that fired with their drawn values,
            exactly as ``manifest.jsonl`` records them.
        """
        variant = self._variant(copy)
        copy, epoch = int(copy), _check_epoch(epoch)  # plain ints: the record is JSON
        rng, seed = self._generator(key, copy, epoch, rng)
        working, give_back = _to_working(image, self.layout if layout is None else _check_layout(layout))
        # the plan's steps for this output, class rules applied
        steps = self._steps(label if label is not None else label_of(key), variant)
        attempt = 0
        if self.recipe.distinct and variant is None and epoch is None and key is not None:
            ops, seed, attempt = draws(self.seed, key, [copy], steps, size_of(working))[copy]  # as expand draws it
        else:
            ops = sample(steps, rng, size_of(working))
        labels = None
        if boxes is not None or mask is not None:
            ops, labels = self._labels(size_of(working), ops, steps, boxes, classes, mask, key, copy, epoch)
        try:
            out = augment(working, ops, Encoding.of(self.recipe.output), self.max_pixels)
        except (ValueError, ZeroDivisionError, OSError, np.linalg.LinAlgError) as exc:
            # what expand records as a skip ("cannot augment ..."): an op this image's mode or size cannot take
            raise ValueError(f"cannot augment {key or 'the image'} ({', '.join(op.op for op in ops)}) in mode "
                             f"{mode_of(working)}: {type(exc).__name__}: {exc}") from exc
        record: dict[str, Any] = {"source": key, "copy": copy}
        if epoch is not None:
            record["epoch"] = epoch
        if variant is not None:
            record["variant"] = variant
        record.update(seed=seed, ops=[op.to_json() for op in ops])
        if attempt:
            record["attempt"] = attempt
        if labels is not None:
            labels, record["labels"] = labels
            return give_back(out, image), labels, record
        return give_back(out, image), record

    def _steps(self, label: str | None, variant: str | None) -> tuple:
        """The steps an output of class ``label`` (of ``variant``) is drawn from, as expand's plan gives them."""
        if self.recipe.classes and label is None:
            raise TypeError("this recipe has per-class rules (classes:): pass key= with the class folder "
                            "('cat/x.jpg'), or label=")
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a str (the class), found {type(label).__name__}")
        try:
            return steps_for(self.recipe, label or "", variant)
        except (KeyError, StopIteration):
            raise ValueError(f"class {label!r} leaves out variant {variant!r} (classes.{label}.exclude)") from None

    def _labels(self, size, ops, steps, boxes, classes, mask, key, copy, epoch):
        """The ops kept (``on_empty: redraw`` as expand redraws, for a keyed call)
        and the moved annotations with their counts."""
        from .label_rules import LabelRules
        from .labelled import redraw_rng, settle
        from .targets import Targets

        boxes = np.zeros((0, 4)) if boxes is None else np.asarray(boxes, float).reshape(-1, 4)
        classes = np.zeros(len(boxes), int) if classes is None else np.asarray(classes).reshape(-1)
        if len(classes) != len(boxes):
            raise ValueError(f"{len(classes)} classes for {len(boxes)} boxes")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (size[1], size[0]) or mask.dtype not in (np.uint8, np.uint16):
                raise ValueError(f"mask is {mask.dtype} {mask.shape}; expected uint8 or uint16 of shape "
                                 f"{(size[1], size[0])}")
        targets = Targets(tuple(size), tuple(int(c) for c in classes), boxes, mask=mask)
        rules = self.recipe.labels or LabelRules()
        redraw = None
        if key is not None:  # keyed as expand keys it: the same redraws
            redraw = lambda attempt: sample(steps, redraw_rng(self.seed, key, copy, attempt, epoch), size)  # noqa: E731
        ops, moved, counts, attempt = settle(targets, ops, Encoding.of(self.recipe.output), rules, redraw)
        counts = {"objects": counts, **({"attempt": attempt} if attempt > 1 else {})}
        return ops, ({"boxes": moved.boxes, "classes": np.array(moved.classes, int), "mask": moved.mask}, counts)

    def _generator(self, key: Any, copy: int, epoch: int | None, rng: Any) -> tuple[np.random.Generator, int | None]:
        """The generator to draw from and the number that names its seed (None for
        the caller's own ``rng``)."""
        if rng is not None:
            if key is not None or epoch is not None:
                raise TypeError("pass either rng= or key= (with copy= or epoch=), not both")
            if not isinstance(rng, np.random.Generator):
                raise TypeError(f"rng must be a numpy.random.Generator, found {type(rng).__name__}")
            return rng, None
        if key is None:
            raise TypeError("pass key= (the source's path relative to SRC, as the manifest's 'source') "
                            "with copy= or epoch=, or rng= a numpy.random.Generator")
        if not isinstance(key, str):
            raise TypeError(f"key must be a str (the source's path relative to SRC), found {type(key).__name__}")
        return item_rng(self.seed, key, copy, epoch=epoch)

    def _variant(self, copy: int) -> str | None:
        """The variant ``copy`` names (variants recipes), after checking ``copy``."""
        if isinstance(copy, bool) or not isinstance(copy, Integral) or copy < 1:
            raise ValueError(f"copy must be an integer >= 1 (expand numbers copies from 1), found {copy!r}")
        if not self.recipe.variants:
            return None
        names = [name for name, _ in self.recipe.variants]
        if copy > len(names):
            raise ValueError(f"copy {copy} names no variant: this recipe has {len(names)} "
                             f"({', '.join(f'{i} {n}' for i, n in enumerate(names, 1))})")
        return names[copy - 1]


# -- the recipe ----------------------------------------------------------------------


def _as_recipe(recipe: Any, max_pixels: int) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe, max_pixels=max_pixels)
    if isinstance(recipe, (str, os.PathLike)):
        if isinstance(recipe, str) and "\n" in recipe:
            raise TypeError("Augmenter takes a recipe file's path, not its text: use Augmenter(Recipe.from_yaml(text))")
        return Recipe.load(Path(recipe), max_pixels=max_pixels)
    raise TypeError(f"recipe must be a Recipe, a recipe file's path or a dict, found {type(recipe).__name__}")


# setting -> (is it set to something other than its default?, why it changes nothing in memory)
_FILE_SETTINGS: dict[str, tuple[Callable[[Recipe], bool], str]] = {
    "copies": (lambda r: r.copies != 1 and not r.variants,
               "how many files expand writes per source; in memory copy= picks which"),
    "balance": (lambda r: r.balance is not None,
                "how many files expand writes per class; in memory balance with your loader's sampler"),
    "include_originals": (lambda r: not r.include_originals,
                          "whether expand also writes the sources; in memory every call augments"),
    "output.format": (lambda r: r.output.format != Output.format,
                      "the file format expand encodes to; in memory nothing is encoded (for JPEG artefacts add "
                      "a jpeg op)"),
    "output.quality": (lambda r: r.output.quality != Output.quality,
                       "the quality expand encodes at; in memory nothing is encoded"),
}


def ignored_settings(recipe: Recipe) -> dict[str, str]:
    """The recipe's settings that only mean something for files, set in it: each
    with why it changes nothing in memory (``Augmenter.ignored``)."""
    return {path: why for path, (is_set, why) in _FILE_SETTINGS.items() if is_set(recipe)}


def label_of(key: str | None) -> str | None:
    """The class of a source from its path relative to SRC, as ``scan`` reads it:
    the first folder, or the second under a split folder (train/, val/, ...)."""
    if not isinstance(key, str) or "/" not in key:
        return None
    parts = key.split("/")
    if parts[0].lower() in SPLITS and len(parts) > 2:
        return parts[1]
    return parts[0]


def _check_seed(seed: Any) -> int:
    return check_seed(seed)  # expand's check and message (a ValueError too)


def _check_epoch(epoch: Any) -> int | None:
    if epoch is None:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, Integral) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, found {epoch!r}")
    return int(epoch)


# -- images in and out ---------------------------------------------------------------


def _check_layout(layout: Any) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be 'HWC' (channels last) or 'CHW' (channels first), found {layout!r}")
    return layout


def _to_working(image: Any, layout: str) -> tuple[np.ndarray, Callable[[np.ndarray, Any], Any]]:
    """``image`` as a working array (``augcli.imaging``), and how to give a
    result back in the caller's type, dtype and layout."""
    if isinstance(image, Image.Image):
        return from_pil(image), _as_pil
    if isinstance(image, np.ndarray):
        if layout == "CHW":
            return _from_array(_channels_last(image), checked_layout=True), _as_chw
        return _from_array(image), _as_array
    raise TypeError(f"image must be a PIL image or a numpy array, found {type(image).__name__}")


def _channels_last(arr: np.ndarray) -> np.ndarray:
    """A CxHxW array as an HxWxC view."""
    if arr.ndim != 3:
        raise ValueError(f"layout='CHW' takes one image as CxHxW: found a {arr.ndim}-D array of shape {arr.shape}")
    return arr.transpose(1, 2, 0)


def _from_array(arr: np.ndarray, checked_layout: bool = False) -> np.ndarray:
    if arr.ndim not in (2, 3):
        raise ValueError(f"one image at a time, HxW or HxWxC: found a {arr.ndim}-D array of shape {arr.shape}")
    if not checked_layout and arr.ndim == 3 and arr.shape[2] > 4 and arr.shape[0] <= 4:
        raise ValueError(f"array of shape {arr.shape} looks channels-first; pass HxWxC "
                         "(e.g. arr.transpose(1, 2, 0)) or layout='CHW'")
    if 0 in arr.shape:
        raise ValueError(f"an image needs pixels: found an array of shape {arr.shape}")
    channels = arr.shape[2] if arr.ndim == 3 else 1
    mode = _ARRAY_MODES.get((arr.dtype.kind, arr.dtype.itemsize, channels))
    if mode is None:
        raise ValueError(f"a {arr.dtype} array with {channels} channel(s) (shape {arr.shape}) is not supported; "
                         f"supported: {SUPPORTED_ARRAYS}")
    if arr.dtype.kind == "f":
        low, high = float(arr.min()), float(arr.max())
        if not 0.0 <= low <= high <= 1.0:  # NaN fails this too
            raise ValueError(f"{arr.dtype} images hold values in 0..1; found {low:g}..{high:g}")
    # kernels never write into their input: the caller's array is used as it is
    work = arr.reshape(arr.shape[:2] + (channels,))
    return work if work.dtype.isnative else work.astype(work.dtype.newbyteorder("="))


def _as_array(out: np.ndarray, given: np.ndarray) -> np.ndarray:
    """The result in the input's dtype and number of dimensions (HxWx1 stays
    HxWx1), an array the caller owns (never a view of its input)."""
    if given.ndim == 2 and out.shape[2] == 1:
        out = out[:, :, 0]
    if out.dtype != given.dtype.newbyteorder("="):
        return out.astype(given.dtype)
    if np.shares_memory(out, given) or not out.flags.writeable:
        out = out.copy()
    return out


def _as_chw(out: np.ndarray, given: np.ndarray) -> np.ndarray:
    """The result channels first, contiguous (what torch and friends expect)."""
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=given.dtype)


def _as_pil(out: np.ndarray, given: Image.Image) -> Image.Image:
    """The result as a Pillow image (always a new object)."""
    return to_pil(out)
