"""The module boundaries the architecture promises: click only in the CLI,
joblib only in execute.py, kernels that never touch the filesystem, and
commands that import no heavy library they do not need."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "augcli"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_module_boundaries():
    files = {p.relative_to(PACKAGE).as_posix(): _imports(p) for p in PACKAGE.rglob("*.py")}
    stdlib = set(sys.stdlib_module_names)
    for name, imports in files.items():
        if name.startswith("ops/"):
            assert imports - stdlib <= {"numpy", "PIL", "skimage", "cv2"}, name
            # the plugin loader reads one environment switch (AUGCLI_NO_PLUGINS) through os, nothing else
            forbidden = {"shutil", "pathlib", "click", "joblib"} | ({"os"} if name != "ops/plugins.py" else set())
            assert not imports & forbidden, f"{name} touches the filesystem/CLI"
        if "click" in imports:
            assert name == "cli.py", f"only cli.py may import click, not {name}"
        if "joblib" in imports:
            assert name == "execute.py", f"only execute.py may import joblib, not {name}"


def test_help_is_instant_no_heavy_imports():
    code = ("import sys; from augcli.cli import cli\n"
            "try: cli(['--help'], prog_name='augcli')\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('numpy', 'PIL', 'skimage', 'cv2', 'joblib', 'yaml', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args", [["validate", "recipes/standard.yaml"], ["validate", "recipes/keras-course.yaml"],
                                  ["validate", "recipes/randaugment.yaml"], ["transforms"], ["schema"]])
def test_registry_commands_import_no_pixel_libraries(args):
    """validate, transforms and schema read parameter schemas only: numpy and
    Pillow (most of their start-up) stay unimported (augcli/lazy.py)."""
    code = ("import sys; from augcli.cli import cli\n"
            f"try: cli({args!r}, prog_name='augcli')\nexcept SystemExit as e: assert not e.code, e.code\n"
            "print(sorted(m for m in ('numpy', 'PIL', 'skimage', 'cv2', 'joblib', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip().splitlines()[-1] == "[]"
