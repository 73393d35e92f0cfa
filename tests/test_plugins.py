"""Plugins through the entry-point group ``augcli.ops`` (SPEC section 10): a
package installed in the test (tests/plugins/kit.py) registers ``swap_rb``
with augcli's own helper, and the op goes through every door: transforms,
schema, validate, expand (loky and Dask workers), the manifest and augcli.json,
replay and --resume (refused for another installed version), the Augmenter.
Broken plugins are one line each, and the other ops keep working."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augcli.ops import REGISTRY, lookup, plugins
from augcli.provenance import PluginMismatch, require_plugins

from .conftest import make_image, tree_digest
from .plugins.kit import DEMO, Site

RECIPE = """\
version: 1
copies: 2
seed: 3
pipeline:
  - swap_rb: {amount: [0.2, 1]}
  - hflip: {p: 0.5}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = Site(tmp_path / "site", monkeypatch)
    yield site
    site.forget()
    plugins.report_to(None)


@pytest.fixture
def demo(site):
    site.install("augcli-demo", "1.0", "augcli_demo", DEMO)
    return site


@pytest.fixture
def plugin_recipe(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.png", (40, 30), seed=1)
    make_image(root / "cat" / "b.png", (24, 36), "RGBA", seed=2)
    make_image(root / "dog" / "c.png", (32, 32), "L", seed=3)
    make_image(root / "dog" / "d.png", (30, 20), seed=4)
    return root


def proc(*args, env=None) -> subprocess.CompletedProcess:
    """augcli in a process of its own (its workers start fresh, as a user's do)."""
    return subprocess.run([sys.executable, "-m", "augcli", *map(str, args)], capture_output=True, text=True, env=env)


def swapped(arr: np.ndarray, amount: float) -> np.ndarray:
    """The oracle: red and blue blended toward each other, written out per channel."""
    out = arr.astype(np.float64).copy()
    r, b = arr[..., 0].astype(np.float64), arr[..., 2].astype(np.float64)
    out[..., 0] = (1 - amount) * r + amount * b
    out[..., 2] = (1 - amount) * b + amount * r
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def test_transforms_lists_the_plugin_op_with_its_package_and_version(cli_run, demo):
    result = cli_run(*["transforms"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("swap_rb"))
    assert "amount=required" in line and line.endswith("[plugin augcli-demo 1.0]")
    detail = cli_run(*["transforms", "swap_rb"])
    assert detail.exit_code == 0 and detail.output.startswith("swap_rb (colour, plugin augcli-demo 1.0): Blend")


def test_schema_offers_the_plugin_op(cli_run, demo, plugin_recipe):
    jsonschema = pytest.importorskip("jsonschema")
    result = cli_run(*["schema"])
    schema = json.loads(result.output)
    assert "swap_rb" in schema["$defs"]["step"]["anyOf"][0]["enum"]
    import yaml

    jsonschema.validate(yaml.safe_load(RECIPE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "pipeline": [{"swap_rb": {"amount": 2}}]}, schema)


def test_validate_knows_the_plugin_op_and_no_plugins_turns_it_off(demo, plugin_recipe):
    ok = proc("validate", plugin_recipe)
    assert ok.returncode == 0, ok.stderr
    assert "swap_rb:" in ok.stdout
    for off, env in ((["--no-plugins"], None), ([], {**__import__("os").environ, plugins.SWITCH: "1"})):
        refused = proc(*off, "validate", plugin_recipe, env=env)
        assert refused.returncode == 2
        assert "pipeline[0].swap_rb: unknown op 'swap_rb'" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_recipe_that_names_no_plugin_op_loads_no_plugin(demo, tmp_path):
    """Discovery is lazy: built-in ops only, and the plugin's module is never imported."""
    recipe = tmp_path / "flips.yaml"
    recipe.write_text("version: 1\npipeline: [hflip]\n")
    code = ("import sys; from augcli.cli import cli\n"
            f"try: cli(['validate', {str(recipe)!r}], prog_name='augcli')\nexcept SystemExit: pass\n"
            "print('augcli_demo' in sys.modules, 'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_expand_records_the_plugin_and_replays_it(demo, tree, plugin_recipe, tmp_path):
    out = tmp_path / "out"
    result = proc("expand", tree, out, "-r", plugin_recipe, "-j", "2", "-q")
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "augcli.json").read_text())
    assert record["plugins"] == {"augcli-demo": "1.0"}
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["source"] == "cat/a.png" and r["kind"] == "augmented")
    ops = {op["op"]: op for op in row["ops"]}
    source = np.asarray(Image.open(tree / "cat" / "a.png"))
    expected = swapped(source, ops["swap_rb"]["amount"])
    if "hflip" in ops:
        expected = expected[:, ::-1]
    np.testing.assert_array_equal(np.asarray(Image.open(out / row["path"])), expected)

    again = proc("replay", out / "manifest.jsonl", tree, tmp_path / "again")
    assert again.returncode == 0, again.stderr
    assert tree_digest(tmp_path / "again", exclude=("augcli.json", "manifest.jsonl")) == tree_digest(out, exclude=("augcli.json", "manifest.jsonl"))


def test_replay_and_resume_refuse_another_installed_version(demo, tree, plugin_recipe, tmp_path):
    out = tmp_path / "out"
    assert proc("expand", tree, out, "-r", plugin_recipe, "-j", "1", "-q").returncode == 0
    demo.install("augcli-demo", "1.1", "augcli_demo", DEMO)
    replayed = proc("replay", out / "manifest.jsonl", tree, tmp_path / "again")
    assert replayed.returncode == 2
    assert ("cannot replay this manifest: it used plugin augcli-demo 1.0, and 1.1 is installed here"
            in replayed.stderr)
    assert not (tmp_path / "again").exists() or not any((tmp_path / "again").iterdir())
    resumed = proc("expand", tree, out, "-r", plugin_recipe, "--resume")
    assert resumed.returncode == 2
    assert "it used plugin augcli-demo 1.0, and 1.1 is installed here" in resumed.stderr
    assert len(resumed.stderr.strip().splitlines()) == 1


def test_dask_workers_load_the_plugin(demo, tree, plugin_recipe, tmp_path):
    pytest.importorskip("distributed")
    ref = proc("expand", tree, tmp_path / "ref", "-r", plugin_recipe, "-j", "1", "-q")
    assert ref.returncode == 0, ref.stderr
    dask = proc("expand", tree, tmp_path / "dask", "-r", plugin_recipe, "-j", "2", "--backend", "dask", "-q")
    assert dask.returncode == 0, dask.stderr
    assert tree_digest(tmp_path / "dask", exclude=("augcli.json", "manifest.jsonl")) == tree_digest(tmp_path / "ref", exclude=("augcli.json", "manifest.jsonl"))


def test_a_worker_with_another_plugin_version_refuses_to_draw(demo):
    assert lookup("swap_rb") is not None
    require_plugins((("augcli-demo", "1.0"),))
    with pytest.raises(PluginMismatch, match="augcli-demo 0.9, and 1.0 is installed here"):
        require_plugins((("augcli-demo", "0.9"),))


def test_the_augmenter_runs_plugin_ops(demo):
    from augcli import Augmenter

    arr = np.random.default_rng(0).integers(0, 256, (12, 16, 3), np.uint8)
    aug = Augmenter({"version": 1, "pipeline": [{"swap_rb": {"amount": 1}}]})
    out, record = aug(arr, key="a.png")
    assert record["ops"] == [{"op": "swap_rb", "amount": 1}]
    np.testing.assert_array_equal(out, arr[..., ::-1])


BROKEN = {
    "import error": ("import nonexistent_module_xyz\n", "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
    "clash with a built-in": (DEMO.replace('"swap_rb", colour_kernel', '"hflip", colour_kernel'),
                              "ValueError: op 'hflip' is already registered by augcli (a built-in op)"),
    "refused registration": ("from augcli.ops.registry import register\nfrom augcli.ops.spec import OpSpec\n"
                             "register(OpSpec('half_made', lambda img: img, exact=True))\n",
                             "ValueError: op 'half_made': exact needs forward: exact ops fuse through their forward matrix"),
    "clash with another plugin": (DEMO, "ValueError: op 'swap_rb' is already registered by plugin augcli-demo 1.0"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_plugin_is_one_line_and_the_other_ops_work(cli_run, demo, case):
    source, why = BROKEN[case]
    # a second op in the broken plugin's module, registered before it fails: it must go too
    demo.install("zz-broken", "0.1", "zz_broken", "from augcli.ops.registry import register\n"
                 "from augcli.ops.spec import OpSpec\nregister(OpSpec('zz_first', lambda img: img))\n" + source)
    result = cli_run(*["transforms"])
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines == [f"augcli: warning: plugin zz-broken 0.1 (entry point zz_broken = zz_broken) is not loaded: {why}; "
                     "the other ops work without it (--no-plugins turns plugins off)"]
    assert "swap_rb" in result.stdout and "hflip" in result.stdout and "zz_first" not in result.stdout
    assert lookup("zz_first") is None and REGISTRY["hflip"].plugin is None


def test_recipes_never_load_code_by_path(cli_run, demo, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\npipeline:\n  - 'augcli_demo:swap_rb': {amount: 1}\n"
                      "  - !!python/name:augcli_demo.swap_rb {}\n")
    result = cli_run(*["validate", str(recipe)])
    assert result.exit_code == 2
    assert "unknown op 'augcli_demo:swap_rb'" in result.stderr
    assert "YAML tag !!python/name:augcli_demo.swap_rb is not allowed" in result.stderr


def test_the_readme_plugin_example_runs(site, tmp_path):
    """The README's plugin, as printed there (module and pyproject entry point),
    installed and used: listed with its package, applied as documented."""
    import re
    import tomllib

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("<!-- plugin-example:start -->")[1].split("<!-- plugin-example:end -->")[0]
    source, toml = re.findall(r"```(?:python|toml)\n(.*?)```", block, re.S)
    assert len(source.strip().splitlines()) <= 25  # "a 20-line plugin"
    project = tomllib.loads(toml)["project"]
    (entry, module), = project["entry-points"]["augcli.ops"].items()
    site.install(project["name"], project["version"], module, source)
    listing = proc("transforms")
    assert listing.returncode == 0 and "[plugin augcli-swap 1.0]" in listing.stdout
    src = tmp_path / "src"
    make_image(src / "a" / "x.png", (20, 14), "RGBA", seed=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ninclude_originals: false\npipeline:\n  - swap_rb: {amount: 0.25}\n")
    assert proc("expand", src, tmp_path / "out", "-r", recipe, "-q").returncode == 0
    arr = np.asarray(Image.open(src / "a" / "x.png"))
    out = np.asarray(Image.open(tmp_path / "out" / "a" / "x_aug01.png"))
    np.testing.assert_array_equal(out[..., :3], swapped(arr[..., :3], 0.25))
    np.testing.assert_array_equal(out[..., 3], arr[..., 3])
