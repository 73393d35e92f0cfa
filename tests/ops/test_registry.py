"""Registering an op: the helpers build the spec they name, and ``register``
refuses hooks that cannot work together, naming the op."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augcli.ops import REGISTRY
from augcli.ops.registry import affine_op, expanded_only, point_op, policy, register
from augcli.ops.spec import OpSpec, Param
from augcli.ops.warp import translation

NAME = "test_only_op"


@pytest.fixture
def scratch_registry():
    """Whatever a test registers is gone afterwards."""
    saved = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(saved)


def _kernel(img, **_):
    return img.copy()


def _forward(params, size):
    return translation(params["x"], 0.0), size


def _values(params, mode, means):
    return lambda v, band: 255 - v


def _expand(params, rng, size):
    return [("hflip", {})]


IMPOSSIBLE = [
    (dict(kernel=_kernel, forward=_forward, values=_values), "forward together with values"),
    (dict(kernel=_kernel, forward=_forward, out_size=lambda p, s: s), "forward together with out_size"),
    (dict(kernel=_kernel, exact=True), "exact needs forward"),
    (dict(kernel=_kernel, values=_values, out_size=lambda p, s: s), "values together with out_size"),
    (dict(kernel=_kernel, expand=_expand), "expand together with a kernel of its own"),
    (dict(kernel=expanded_only), "kernel expanded_only needs expand"),
    (dict(kernel=_kernel, expand_excluding=True), "expand_excluding needs expand"),
    (dict(kernel=expanded_only, expand=_expand, forward=_forward), "expand together with forward"),
    (dict(kernel=expanded_only, expand=_expand, resolve=lambda p, r, s: p), "expand together with resolve"),
    (dict(kernel=expanded_only, expand=_expand, parts={"hflip": {}}), "expand together with parts"),
]


@pytest.mark.parametrize("hooks, why", IMPOSSIBLE, ids=[why for _, why in IMPOSSIBLE])
def test_register_refuses_hooks_that_exclude_each_other(scratch_registry, hooks, why):
    kernel = hooks.pop("kernel")
    with pytest.raises(ValueError, match=f"op '{NAME}': {why}"):
        register(OpSpec(NAME, kernel, **hooks))
    assert NAME not in REGISTRY


def test_register_refuses_a_name_twice(scratch_registry):
    with pytest.raises(ValueError, match="'rotate' is already registered by augcli"):
        register(OpSpec("rotate", _kernel))


def test_affine_op_is_its_forward_matrix_applied_once(scratch_registry):
    kernel = affine_op(NAME, _forward, params=(Param("x", "float"),))
    spec = REGISTRY[NAME]
    assert spec.forward is _forward and spec.kernel is kernel and not spec.exact
    arr = np.arange(5 * 6, dtype=np.uint8).reshape(5, 6) * 8
    out = np.asarray(kernel(Image.fromarray(arr), x=2.0, fill="constant", cval=0.0, interpolation="nearest"))
    expected = np.zeros_like(arr)
    expected[:, 2:] = arr[:, :-2]  # content moves 2 pixels right, the exposed columns filled with 0
    assert np.array_equal(out, expected)


def test_affine_op_keeps_a_given_exact_kernel(scratch_registry):
    affine_op(NAME, _forward, kernel=_kernel, exact=True)
    # the registry keeps the kernel itself, behind the door that also takes Pillow images
    assert REGISTRY[NAME].kernel.__wrapped__ is _kernel and REGISTRY[NAME].exact


def test_point_op_kernel_is_its_value_mapping(scratch_registry):
    kernel = point_op(NAME, _values)
    assert REGISTRY[NAME].values is _values and REGISTRY[NAME].forward is None
    arr = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(np.asarray(kernel(Image.fromarray(arr))), 255 - arr)


def test_policy_expands_and_has_no_kernel(scratch_registry):
    spec = policy(NAME, _expand, excluding=True)
    assert spec.expand is _expand and spec.expand_excluding and REGISTRY[NAME] is spec
    with pytest.raises(TypeError, match="expanded into plain ops"):
        spec.kernel(Image.new("L", (2, 2)))
