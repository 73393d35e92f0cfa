"""The named ops. A new op is one kernel plus one registration (``augcli.ops.registry``).

The registry drives recipe validation, ``augcli transforms``, the README table
and the parametrised kernel tests.
"""
from __future__ import annotations

from .registry import REGISTRY, lookup, register, suggest  # noqa: F401

# Importing the kernel modules fills the registry.
from . import color, geometric, keras, models, noise, policies  # noqa: E402,F401
