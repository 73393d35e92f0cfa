"""The registry documents itself: transforms, the JSON Schema, the README
table; and the module boundaries the architecture promises hold."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from augcli.catalogue import json_schema, op_table
from augcli.ops import REGISTRY
from augcli.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "augcli"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_is_documented_with_a_valid_example(run, name):
    spec = REGISTRY[name]
    assert spec.doc and spec.example.startswith(f"- {name}")
    assert all(p.doc for p in spec.params), f"{name}: every parameter needs a doc string"
    Recipe.from_yaml("pipeline:\n  " + spec.example)
    result = run("transforms", name)
    assert result.exit_code == 0 and spec.example in result.stdout


def test_transforms_lists_every_op_and_refuses_unknown_names(run):
    listing = run("transforms").stdout
    assert all(f"  {name} " in listing for name in REGISTRY)
    result = run("transforms", "rotat")
    assert result.exit_code == 2 and "did you mean 'rotate'" in result.stderr


def test_readme_op_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- ops:start -->\n", "<!-- ops:end -->"
    table = readme[readme.index(start) + len(start): readme.index(end)]
    assert table == op_table(), "README op table is stale: run `make readme-ops`"


def test_schema_is_valid_and_accepts_every_shipped_recipe(run):
    schema = json.loads(run("schema").stdout)
    assert schema == json.loads(json.dumps(json_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "recipes").glob("*.yaml")):
        Recipe.load(path)  # augcli accepts it ...
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path.name  # ... and so does the schema
    assert list(validator.iter_errors({"pipeline": [{"rotate": {"angle": 3, "fill": "reflct"}}]}))


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
            assert not imports & {"os", "shutil", "pathlib", "click", "joblib"}, f"{name} touches the filesystem/CLI"
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
