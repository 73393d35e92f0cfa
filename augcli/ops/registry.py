"""The one registry of named ops, and the three ways into it.

A new op is one kernel plus one registration:

* ``register(OpSpec(name, kernel, ...))`` for an op with a kernel of its own;
* ``point_op(name, values, ...)`` for an op defined by its value mapping (run as
  a lookup table, chained with its neighbours);
* ``affine_op(name, forward, ...)`` for an op defined by its forward matrix
  (one ``warp``, fused with its neighbours into one resample);
* ``policy(name, expand, ...)`` for an op that expands into plain ops when
  sampled (RandAugment, Keras layers): what is recorded and applied are those.

``register`` refuses a spec whose hooks cannot work together (see
``_impossible``), so a mistake in a new op stops the import with its name.

Installed packages register their ops with these same helpers, through the
entry-point group ``augcli.ops`` (``augcli.ops.plugins``). They are found
lazily: the first ``lookup`` of a name augcli does not know, or ``every_op``
(listings, the schema), loads them; commands whose ops are all built in never do.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial

from ..imaging import pil_compatible, point_chain, size_of
from ..lazy import lazy
from .resampling import resampling
from .spec import OpSpec, close_match
from .warp import warp
from . import plugins

np = lazy("numpy")

REGISTRY: dict[str, OpSpec] = {}
# (distribution, version) of the plugin package being loaded: what its registrations are stamped with
registering_for: list[tuple[str, str]] = []


def register(spec: OpSpec) -> OpSpec:
    """Add ``spec`` to the registry; raise ``ValueError`` naming the op when its
    name is taken or its hooks exclude each other. While a plugin package is
    loaded, its ops are stamped with its name and version."""
    if registering_for:
        spec = replace(spec, plugin=registering_for[-1])
    if spec.name in REGISTRY:
        owner = REGISTRY[spec.name].plugin
        by = f"plugin {owner[0]} {owner[1]}" if owner else "augcli (a built-in op)"
        raise ValueError(f"op {spec.name!r} is already registered by {by}")
    problem = _impossible(spec)
    if problem:
        raise ValueError(f"op {spec.name!r}: {problem}")
    if spec.kernel is not expanded_only and not hasattr(spec.kernel, "__wrapped_array__"):
        # kernels work on arrays (augcli.imaging); called by hand with a Pillow
        # image they give one back
        spec = replace(spec, kernel=pil_compatible(spec.kernel))
    REGISTRY[spec.name] = spec
    return spec


def lookup(name: str) -> OpSpec | None:
    """The op called ``name``; a name augcli does not know loads the installed
    plugins first (once per process)."""
    spec = REGISTRY.get(name)
    if spec is None and plugins.load(REGISTRY, registering_for):
        spec = REGISTRY.get(name)
    return spec


def every_op() -> dict[str, OpSpec]:
    """Every op, the installed plugins' included (for listings and the schema)."""
    plugins.load(REGISTRY, registering_for)
    return REGISTRY


def suggest(name: str) -> str | None:
    """The registered op name closest to a misspelt one."""
    return close_match(name, sorted(every_op()))


def _impossible(spec: OpSpec) -> str | None:
    """Why ``spec``'s hooks cannot all be used, or None. Each rule names a hook
    that would be silently ignored, or two that contradict each other."""
    if spec.expand is not None:
        if spec.kernel is not expanded_only:
            return "expand together with a kernel of its own: an op that expands is applied as the ops it " \
                   "chose, so its kernel is expanded_only (use policy())"
        ignored = [hook for hook in ("forward", "values", "out_size", "resolve") if getattr(spec, hook) is not None]
        ignored += [hook for hook in ("exact", "parts") if getattr(spec, hook)]
        if ignored:
            return f"expand together with {', '.join(ignored)}: the ops it expands into bring their own"
        return None
    if spec.kernel is expanded_only:
        return "kernel expanded_only needs expand (use policy())"
    if spec.expand_excluding:
        return "expand_excluding needs expand"
    if spec.forward is not None and spec.values is not None:
        return "forward together with values: an op fuses either by its matrix or by its lookup table"
    if spec.forward is not None and spec.out_size is not None:
        return "forward together with out_size: the forward map gives the output size"
    if spec.exact and spec.forward is None:
        return "exact needs forward: exact ops fuse through their forward matrix"
    if spec.values is not None and spec.out_size is not None:
        return "values together with out_size: a point op keeps the size"
    return None


# -- the helpers -----------------------------------------------------------------------


def expanded_only(img, **_):
    """The kernel of an op that expands into plain ops when sampled (policies,
    Keras layers): what is recorded and applied are those plain ops."""
    raise TypeError("this op is expanded into plain ops when sampled; it has no kernel of its own")


def point_op(name: str, values, **spec):
    """Register a point op from its value mapping ``values(params, mode, means) ->
    fn(v, band)``; its kernel is that mapping as a one-step ``point_chain``, and
    ``apply`` chains consecutive point ops into one lookup table. Returns the kernel."""

    def kernel(img: np.ndarray, **params) -> np.ndarray:
        return point_chain(img, [partial(values, params)])

    kernel.__doc__ = values.__doc__
    return register(OpSpec(name, kernel, values=values, **spec)).kernel


def affine_kernel(forward):
    """A kernel that applies ``forward`` with one ``warp``."""

    def kernel(img: np.ndarray, **params) -> np.ndarray:
        matrix, out_size = forward(params, size_of(img))
        return warp(img, matrix, out_size, **resampling(params))

    return kernel


def affine_op(name: str, forward, *, kernel=None, **spec):
    """Register an op defined by ``forward(params, size) -> (3x3 matrix, out_size)``,
    the map from input to output pixel-centre coordinates. Its kernel is that
    matrix applied with one ``warp`` (fill, cval and interpolation from its
    params), unless ``kernel`` gives an equivalent faster one (a transpose, a
    crop: then ``exact=True``). ``apply`` fuses runs of them into one resample.
    Returns the kernel."""
    kernel = kernel or affine_kernel(forward)
    return register(OpSpec(name, kernel, forward=forward, **spec)).kernel


def policy(name: str, expand, *, excluding: bool = False, **spec) -> OpSpec:
    """Register an op that expands into plain ops when sampled:
    ``expand(params, rng, size) -> [(op, params), ...]`` (with ``excluding``, it
    also takes ``exclude=``, the op names a class rule forbids, and draws among
    the ops left). The chosen plain ops are what is recorded and applied."""
    return register(OpSpec(name, expanded_only, expand=expand, expand_excluding=excluding, **spec))
