"""Mutation run: plant deliberate one-line bugs in augcli, one at a time, and
check that the test suite catches each one (``make mutants``; not part of
``make test`` or CI).

Each mutant is (file, exact snippet, replacement, the bug it plants). The
repository is copied once to a scratch folder; each mutant is applied to the
copy, the test files for its module run there (``pytest -x`` with a timeout)
and the file is restored, so the working tree is never touched. A mutant is
*killed* when a test fails, *survived* when every selected test passes.

A mutant whose snippet no longer occurs in its file (the code moved) is
reported as *stale*, one whose snippet occurs more than once as *ambiguous*;
either makes the run exit 1, so the list below is kept up to date. The run
also exits 1 when the kill rate is below ``--min-rate``.

    python scripts/mutate.py                     # every mutant
    python scripts/mutate.py --only rotate blur  # mutants whose id contains a word
    python scripts/mutate.py --check             # only look for stale snippets
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# folders beside the repository that tests read (the Keras golden fixtures of
# test_keras_fidelity.py live in ../shared/fixtures): linked beside the copy
SIBLINGS = ("shared",)
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "out",
                                 "*.egg-info", "benchmarks")


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # relative to the repository root
    snippet: str  # must occur exactly once in the file
    replacement: str
    bug: str
    tests: tuple[str, ...] = ()  # the test files to run, when not those of the module (TESTS)


GEO, NOISE = "augcli/ops/geometric.py", "augcli/ops/noise.py"
WARP, COLOUR = "augcli/ops/warp.py", "augcli/ops/color.py"

MUTANTS = (
    # -- geometry ------------------------------------------------------------------------
    Mutant("rotate-angle-sign", GEO, 'linear = _rotation_linear(params["angle"])\n    w, h = size',
           'linear = _rotation_linear(-params["angle"])\n    w, h = size', "rotate turns clockwise"),
    Mutant("centre-half-pixel", WARP, "translation((ow - 1) / 2, (oh - 1) / 2) @ m @ translation(-(w - 1) / 2, -(h - 1) / 2)",
           "translation(ow / 2, oh / 2) @ m @ translation(-w / 2, -h / 2)",
           "rotate/zoom/shear pivot on (w/2, h/2), half a pixel off the image centre"),
    Mutant("fill-reflect-is-symmetric", WARP, '"reflect": "BORDER_REFLECT_101"', '"reflect": "BORDER_REFLECT"',
           "fill: reflect repeats the edge pixel (numpy's symmetric)"),
    Mutant("fill-edge-is-wrap", WARP, '"edge": "BORDER_REPLICATE"', '"edge": "BORDER_WRAP"',
           "fill: edge wraps around"),
    Mutant("cval-ignored", WARP, "else cv_scalar(fill_values(img, cval))", "else cv_scalar(fill_values(img, 0))",
           "constant fill is always black"),
    Mutant("premultiplied-off", "augcli/imaging.py", "    work[:, :, :-1] *= alpha\n    out = run(work)",
           "    out = run(work)", "RGBA resampled straight: transparent colours bleed into the edges",
           tests=("tests/ops/test_array_kernels.py", "tests/ops/test_geometry.py")),
    Mutant("alpha-weights-off", "augcli/imaging.py", "    work[:, :, :-1] *= alpha\n    work[:, :, -1:] = alpha",
           "    work[:, :, -1:] = 1", "blur and sharpen mix in the colour of transparent pixels",
           tests=("tests/ops/test_array_kernels.py", "tests/ops/test_color.py")),
    Mutant("nearest-tie-break", WARP, "inverse = translation(_TIE_BREAK, _TIE_BREAK) @ inverse",
           "inverse = inverse", "nearest picks whichever side float rounding gives at exact halves"),
    Mutant("bicubic-is-bilinear", WARP, '"bicubic": "INTER_CUBIC"', '"bicubic": "INTER_LINEAR"',
           "interpolation: bicubic resamples bilinearly"),
    Mutant("hflip-forward-off-by-one", GEO, "np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]])",
           "np.array([[-1.0, 0, w], [0, 1, 0], [0, 0, 1]])", "hflip fused with neighbours is shifted a pixel"),
    Mutant("rotate-expand-canvas", GEO, "math.ceil(c * (w - 1) + s * (h - 1) - 1e-6) + 1",
           "math.ceil(c * (w - 1) + s * (h - 1) - 1e-6)", "rotate expand: the canvas is a pixel too narrow"),
    Mutant("hflip-is-vflip", GEO, '"hflip", _hflip_forward, kernel=lambda img: turned(img, (-1, 0, 0, 1))',
           '"hflip", _hflip_forward, kernel=lambda img: turned(img, (1, 0, 0, -1))',
           "hflip mirrors top-bottom"),
    Mutant("rot90-direction", "augcli/ops/symmetry.py", '(0, 1, -1, 0): ("rotate", "ROTATE_90_COUNTERCLOCKWISE")',
           '(0, 1, -1, 0): ("rotate", "ROTATE_90_CLOCKWISE")', "rot90 turns clockwise"),
    Mutant("translate-sign", GEO, 'x, y = params.get("x", 0.0), params.get("y", 0.0)',
           'x, y = -params.get("x", 0.0), params.get("y", 0.0)', "translate x shifts left"),
    Mutant("shear-axis", GEO, 'about_centre(_shear_linear(params["x"], params["y"]), size)',
           'about_centre(_shear_linear(params["y"], params["x"]), size)', "shear x and y swapped"),
    Mutant("zoom-inverted", GEO, "about_centre(np.diag([sx, sy]), size)",
           "about_centre(np.diag([1 / sx, 1 / sy]), size)", "zoom > 1 shrinks the content"),
    Mutant("crop-clamp-off-by-one", GEO, "min(max(int(box[2]), x0 + 1), w)", "min(max(int(box[2]), x0 + 1), w - 1)",
           "a crop reaching the right edge loses the last column"),
    Mutant("center-crop-axes", GEO, "x0, y0 = (w - cw) // 2, (h - ch) // 2\n    return {**params",
           "x0, y0 = (w - cw) // 2, (w - ch) // 2\n    return {**params", "center_crop centres y on the width"),
    Mutant("rrc-ignores-box", GEO, "return pillow_resize(img, size, interpolation, box=tuple(box))",
           "return pillow_resize(img, size, interpolation)", "random_resized_crop resizes the whole image, not its box"),
    Mutant("perspective-corner-outwards", GEO, "signs = [(1, 1), (-1, 1), (-1, -1), (1, -1)]",
           "signs = [(1, 1), (1, 1), (-1, -1), (1, -1)]", "perspective moves the top-right corner outwards"),
    # -- fusion (apply.py) -----------------------------------------------------------------
    Mutant("exact-run-crop-shift", "augcli/apply.py", "np.rint((symmetry - matrix)[:2, 2])",
           "np.rint((matrix - symmetry)[:2, 2])", "a fused flips + crop run crops the mirrored box"),
    Mutant("exact-run-transpose", "augcli/ops/symmetry.py", '(-1, 0, 0, 1): ("flip", 1)', '(-1, 0, 0, 1): ("flip", 0)',
           "a fused run that mirrors left-right flips top-bottom", tests=("tests/ops/test_geometry.py",)),
    Mutant("fuse-any-resampling", "augcli/apply.py", "return mine is None or not theirs or theirs == {mine}",
           "return True", "affine ops with different fill/interpolation fused under the first one's"),
    Mutant("point-chain-drops-step", "augcli/imaging.py", "for make in steps:\n        fn = make(",
           "for make in steps[:1]:\n        fn = make(", "a fused run of point ops applies only its first"),
    Mutant("point-chain-stale-means", "augcli/imaging.py", "seen = arr if untouched else cv2.LUT(arr, _lut(tables, arr))",
           "seen = arr", "fused point ops see the source's means, not their input's",
           tests=("tests/ops/test_array_kernels.py", "tests/ops/test_color.py")),
    Mutant("palette-alpha-dropped", "augcli/imaging.py", 'return img.convert("RGBA" if has_alpha else "RGB")',
           'return img.convert("RGB")', "a palette image with transparency loses it",
           tests=("tests/test_inputs.py", "tests/test_expand.py")),
    Mutant("rounding-floors", "augcli/imaging.py", "np.clip(np.rint(values), 0", "np.clip(np.floor(values), 0",
           "values are truncated instead of rounded"),
    # -- colour and noise ------------------------------------------------------------------
    Mutant("brightness-ceil", COLOUR, "np.floor(v.astype(np.float32) * f)", "np.ceil(v.astype(np.float32) * f)",
           "brightness rounds up where Pillow truncates"),
    Mutant("contrast-band-mean", COLOUR, "(v - mean[band]) * factor + mean[band]", "(v - mean[band]) * factor + mean[0]",
           "contrast re-centres every channel on the first channel's mean"),
    Mutant("autocontrast-identity", COLOUR, "return from_pil(ImageOps.autocontrast(to_pil(colour), cutoff=cutoff))",
           "return colour.copy()", "autocontrast leaves 8-bit images unchanged"),
    Mutant("autocontrast-16-identity", COLOUR, "return to_range((arr - lo) * max_value(mode_of(img)) / (hi - lo), colour.dtype)",
           "return colour.copy()", "autocontrast leaves 16-bit images unchanged"),
    Mutant("gamma-inverted", COLOUR, "top * (v / top) ** gamma", "top * (v / top) ** (1 / gamma)",
           "gamma > 1 brightens"),
    Mutant("solarize-threshold", COLOUR, "np.where(v < cut, v, top - v)", "np.where(v <= cut, v, top - v)",
           "solarize leaves values equal to the threshold"),
    Mutant("blur-sigma-doubled", COLOUR, "2 * math.ceil(4 * radius) + 1, radius,", "2 * math.ceil(4 * radius) + 1, 2 * radius,",
           "blur uses twice the radius"),
    Mutant("hue-direction", COLOUR, "hsv[:, :, 0] += np.float32(shift % 360)", "hsv[:, :, 0] += np.float32(-shift % 360)",
           "hue turns the wheel the wrong way", tests=("tests/ops/test_array_kernels.py", "tests/ops/test_color.py")),
    Mutant("channel-shift-clip", COLOUR, "value * max_value(mode_of(img)) / 255.0, lo, hi)",
           "value * max_value(mode_of(img)) / 255.0, 0, max_value(mode_of(img)))",
           "channel_shift clips to the full range, not the image's own (Keras)"),
    Mutant("noise-seed-ignored", NOISE, "cv2.setRNGSeed(seed)", "cv2.setRNGSeed(0)",
           "every gaussian_noise output gets the same noise"),
    Mutant("noise-per-channel-inverted", NOISE, "bands = channels if per_channel else 1",
           "bands = channels if not per_channel else 1", "per_channel: true adds grey noise"),
    Mutant("salt-is-black", NOISE, "arr[draw < amount * salt_ratio] = max_value(mode_of(img))",
           "arr[draw < amount * salt_ratio] = 0", "salt_pepper writes no white pixels"),
    Mutant("cutout-axes", NOISE, "region = arr[y0:y1, x0:x1]", "region = arr[x0:x1, y0:y1]",
           "cutout boxes are transposed"),
    # -- drawing parameters ----------------------------------------------------------------
    Mutant("p-inclusive", "augcli/sampling.py", "if not rng.random() < step.p:", "if not rng.random() <= step.p:",
           "p: 0 fires when the generator draws 0.0"),
    Mutant("seed-ignores-path", "augcli/sampling.py",
           "return np.random.SeedSequence(seed, spawn_key=(stable_hash(relpath), copy, *extra))",
           "return np.random.SeedSequence(seed, spawn_key=(copy, *extra))",
           "every source's copy n draws the same parameters"),
    Mutant("seed-by-position", "augcli/worker.py",
           "ops, seed = draw(job.seed, task.source.relpath, target.copy, target.steps, size)",
           "ops, seed = draw(job.seed, task.source.relpath, task.targets.index(target), target.steps, size)",
           "seeds keyed by position among the task's outputs, not by copy"),
    Mutant("some-of-order", "augcli/sampling.py", "picked = sorted(rng.choice(len(step.steps), size=n, replace=False).tolist())",
           "picked = list(rng.choice(len(step.steps), size=n, replace=False).tolist())",
           "some_of applies its steps in drawn order, not recipe order"),
    Mutant("one-of-never-last", "augcli/sampling.py", "step.steps[int(rng.integers(len(step.steps)))]",
           "step.steps[int(rng.integers(len(step.steps) - 1 or 1))]", "one_of never picks its last step"),
    Mutant("int-range-exclusive", "augcli/ops/spec.py", "int(rng.integers(self.lo, self.hi + 1))",
           "int(rng.integers(self.lo, max(self.hi, self.lo + 1)))", "an int range [lo, hi] never draws hi"),
    # -- recipe ----------------------------------------------------------------------------
    Mutant("combinator-p-unchecked", "augcli/recipe_parser.py", 'p = float(self.fixed(_P, args.get("p", 1.0), f"{path}.p"))',
           'p = float(args.get("p", 1.0))', "p of one_of/some_of/sequence is not range-checked"),
    Mutant("exclude-ignored", "augcli/recipe_model.py", "return ClassOutcome(count, target, without_ops(steps, excluded), kept)",
           "return ClassOutcome(count, target, steps, kept)",
           "classes.<c>.exclude is ignored"),
    # -- plan, io, manifest, job -----------------------------------------------------------
    Mutant("collision-case-sensitive", "augcli/plan.py",
           '    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())',
           "    return name", "cat/a.jpg and cat/A.png both write cat/a.png on macOS"),
    Mutant("collision-normalisation-blind", "augcli/plan.py",
           '    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())',
           "    return name.casefold()", "café.png written NFC and NFD both write one name on macOS"),
    Mutant("balance-drops-remainder", "augcli/plan.py", "needed // n + (1 if seen[key] < needed % n else 0)",
           "needed // n", "balance falls short of its target by the remainder"),
    Mutant("byte-copy-despite-resize", "augcli/plan.py",
           'verbatim = recipe.output.format == "same" and recipe.output.size is None and',
           'verbatim = recipe.output.format == "same" and', "originals are byte-copied even when output.size resizes"),
    Mutant("exif-byte-copy", "augcli/render.py", "if target.byte_copy and not decoded.rotated:", "if target.byte_copy:",
           "an EXIF-rotated original is byte-copied sideways"),
    Mutant("exif-transpose-skipped", "augcli/io.py", "upright = ImageOps.exif_transpose(img) if orientation != 1 else img",
           "upright = img", "EXIF orientation is ignored"),
    Mutant("write-not-atomic", "augcli/outdir.py",
           "    temp = temp_name(name)\n    handle = _create(fd, temp)",
           "    temp = name\n    handle = _create(fd, temp)",
           "images are written straight to their final name"),
    Mutant("temp-left-behind", "augcli/outdir.py",
           "        with contextlib.suppress(OSError):\n            os.unlink(temp, dir_fd=fd)\n        raise\n",
           "        raise\n", "a write that fails midway leaves its temporary file"),
    Mutant("append-through-hard-link", "augcli/outdir.py", "            break_link(root, name)\n", "",
           "--resume appends to a manifest a cp -al snapshot shares"),
    Mutant("cut-through-hard-link", "augcli/manifest.py", "            break_link(folder, path.name)\n", "",
           "--resume cuts a torn line off a manifest a cp -al snapshot shares"),
    Mutant("lock-written-through", "augcli/outdir.py", "            fresh = _fresh_lock(root)",
           "            os.close(os.open(LOCK_FILE, os.O_WRONLY | os.O_TRUNC, dir_fd=root))\n"
           "            fresh = _fresh_lock(root)", "a lock file hard-linked to a source image is truncated"),
    Mutant("manifest-names-own-files", "augcli/manifest.py",
           "if problem is None and any(part.casefold() in OWN_FILES", "if False and any(part.casefold() in OWN_FILES",
           "a tampered manifest makes augcli delete its own lock"),
    Mutant("surrogates-accepted", "augcli/manifest.py", "if (where := _lone_surrogate(value)) is not None:",
           "if (where := None) is not None:", "a lone surrogate escape in a manifest is an internal error"),
    Mutant("jpeg-quality-ignored", "augcli/io.py", "[cv2.IMWRITE_JPEG_QUALITY, int(quality)]",
           "[cv2.IMWRITE_JPEG_QUALITY, 95]", "output.quality is ignored for JPEG", tests=("tests/test_encoding.py",)),
    Mutant("jpeg-icc-quality-ignored", "augcli/io.py", 'options = {"quality": quality}\n', 'options = {"quality": 95}\n',
           "output.quality is ignored for a JPEG that carries a colour profile", tests=("tests/test_encoding.py",)),
    Mutant("icc-dropped", "augcli/io.py", 'options["icc_profile"] = icc_profile', "pass",
           "the source's colour profile is not written"),
    Mutant("torn-line-kept", "augcli/manifest.py", "        if position == size:\n            return", "        return",
           "--resume appends after a torn last manifest line"),
    Mutant("resume-redoes-done", "augcli/plan.py", "tuple(t for t in task.targets if t.path not in done_paths)",
           "tuple(task.targets)", "--resume writes (and records) finished images again"),
    Mutant("resume-retries-skipped", "augcli/plan.py", "if task.source.relpath in skipped_sources:\n                continue",
           "if False:\n                continue", "--resume retries sources already recorded as skipped"),
    Mutant("resume-count", "augcli/_expand.py",
           "written=summary.already_done + summary.written, skipped=summary.skipped)",
           "written=summary.written, skipped=summary.skipped)",
           "a resumed run records only its own images in counts.written"),
    Mutant("overwrite-foreign-folder", "augcli/outstate.py", "if overwrite and read_run_record(out) is None:",
           "if False:", "--overwrite accepts a folder augcli did not write"),
    Mutant("hidden-files-scanned", "augcli/scan.py", 'return name.startswith(".") or name.lower() in OS_LITTER',
           "return name.lower() in OS_LITTER", "hidden files (._x.jpg) are taken as sources"),
    Mutant("symlink-escape", "augcli/scan.py", "if not self.inside(real):", "if False:",
           "a symlink out of SRC is followed"),
    Mutant("verify-no-changed", "augcli/_verify.py", "if actual != digest:", "if False:",
           "verify does not notice a changed image"),
    Mutant("replay-escapes", "augcli/trees.py", '".." in parts or ', "",
           "replay writes a manifest path with '..' outside NEWOUT"),
    Mutant("preview-seeds", "augcli/_preview.py", "draw(run_seed, source.relpath, copy,",
           "draw(run_seed, source.relpath, copy + 1,", "preview shows other draws than expand writes"),
    Mutant("verify-no-extra", "augcli/_verify.py",
           "self.extra = sorted(rel for rel in files if rel not in listed",
           "self.extra = sorted(rel for rel in files if False and rel not in listed",
           "verify does not report files the manifest does not list"),
)

# The test files that can see a mutant in each module, cheapest and most
# focused first (pytest -x stops at the first failure). A new test file joins
# the groups of the modules it tests.
GEOMETRY = ("tests/ops/test_geometry.py", "tests/ops/test_keras_fidelity.py", "tests/ops/test_keras_layers.py",
            "tests/ops/test_every_op.py", "tests/ops/test_sweep.py", "tests/ops/test_array_kernels.py",
            "tests/ops/test_modes.py")
COLOURS = ("tests/ops/test_colour_and_noise_contract.py", "tests/ops/test_color.py", "tests/ops/test_every_op.py",
           "tests/ops/test_sweep.py", "tests/ops/test_array_kernels.py", "tests/ops/test_modes.py")
SAMPLING = ("tests/test_sampling_contract.py", "tests/ops/test_every_op.py", "tests/ops/test_geometry.py",
            "tests/test_dataset.py")
RECIPES = ("tests/test_composition_p_range.py", "tests/test_grammar_agreement.py", "tests/test_recipe.py",
           "tests/test_recipe_properties.py",
           "tests/test_catalogue.py", "tests/test_dataset.py", "tests/test_expand.py", "tests/test_cli.py")
RUNS = ("tests/test_atomic_write.py", "tests/test_out_tree.py", "tests/test_output_names.py", "tests/test_originals.py",
        "tests/test_encoding.py", "tests/test_resume_repair.py", "tests/test_sampling_contract.py",
        "tests/test_expand.py", "tests/test_inputs.py", "tests/test_dataset.py",
        "tests/test_preview_verify_replay.py", "tests/test_records.py", "tests/test_cli.py", "tests/test_runs.py")
TESTS = {
    "augcli/ops/geometric.py": GEOMETRY,
    "augcli/ops/warp.py": GEOMETRY,
    "augcli/ops/symmetry.py": GEOMETRY,
    "augcli/apply.py": GEOMETRY + COLOURS,
    "augcli/imaging.py": COLOURS + GEOMETRY,
    "augcli/ops/color.py": COLOURS,
    "augcli/ops/noise.py": COLOURS,
    "augcli/sampling.py": SAMPLING,
    "augcli/ops/spec.py": SAMPLING + RECIPES,
    "augcli/recipe.py": RECIPES,
    "augcli/recipe_parser.py": RECIPES,
    "augcli/recipe_model.py": RECIPES,
    "augcli/recipe_yaml.py": RECIPES,
    "augcli/envelope.py": RECIPES,
    "augcli/plan.py": RUNS + ("tests/test_inode_identity.py",),
    "augcli/worker.py": RUNS,
    "augcli/io.py": RUNS,
    "augcli/outdir.py": ("tests/test_inode_identity.py",) + RUNS,
    "augcli/manifest.py": ("tests/test_tampered_manifest.py", "tests/test_inode_identity.py") + RUNS,
    "augcli/_expand.py": RUNS,
    "augcli/outstate.py": RUNS,
    "augcli/render.py": ("tests/test_preview_verify_replay.py",) + RUNS,
    "augcli/scan.py": RUNS,
    "augcli/_verify.py": ("tests/test_preview_verify_replay.py",) + RUNS,
    "augcli/_replay.py": ("tests/test_preview_verify_replay.py",) + RUNS,
    "augcli/trees.py": ("tests/test_preview_verify_replay.py",) + RUNS,
    "augcli/_preview.py": ("tests/test_preview_verify_replay.py",) + RUNS,
}


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed | survived | timeout | stale | ambiguous | error (pytest itself failed)
    by: str = ""
    seconds: float = 0.0


def scratch_copy(base: Path) -> Path:
    """The repository copied below ``base`` (no .git, no virtualenv), with the
    folders tests read beside the repository linked beside the copy."""
    copy = base / ROOT.name
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    for name in SIBLINGS:
        if (ROOT.parent / name).exists():
            (base / name).symlink_to(ROOT.parent / name)
    return copy


def environment(copy: Path) -> dict[str, str]:
    """Imports resolve to the copy (before the editable install), and no stale
    bytecode: a mutant and the original can share a size and a second."""
    return {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}


def pytest(copy: Path, tests: tuple[str, ...], timeout: float, extra: tuple[str, ...] = ("-x",)) -> tuple[int | None, str]:
    """Run pytest in the copy; (exit status or None on timeout, output). On
    timeout the whole process group goes, workers included."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *tests]
    proc = subprocess.Popen(command, cwd=copy, env=environment(copy), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return None, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def first_failure(output: str) -> str:
    """The test that failed first, from pytest's short summary."""
    found = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.MULTILINE)
    if found:
        return found.group(1)
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:80] if lines else "(no output)"


def tests_for(mutant: Mutant) -> tuple[str, ...]:
    return tuple(dict.fromkeys(mutant.tests or TESTS[mutant.file]))


def problem_of(mutant: Mutant, root: Path) -> str | None:
    """None if the snippet occurs exactly once in its file, else why the mutant
    cannot be applied: "stale" (the file or the snippet is gone) or "ambiguous"."""
    path = root / mutant.file
    count = path.read_text(encoding="utf-8").count(mutant.snippet) if path.is_file() else 0
    return None if count == 1 else ("stale" if count == 0 else "ambiguous")


def missing_tests(mutants: list[Mutant]) -> list[str]:
    """What the test selection names but the repository lacks (a missing test
    file would make pytest fail and every mutant look caught)."""
    missing = [f"no test files for {m.file} in TESTS ({m.id})" for m in mutants if not m.tests and m.file not in TESTS]
    named = {t for m in mutants if m.tests or m.file in TESTS for t in tests_for(m)}
    return missing + [f"test file {t} not found" for t in sorted(named) if not (ROOT / t).is_file()]


def run_mutant(copy: Path, mutant: Mutant, timeout: float) -> Result:
    problem = problem_of(mutant, copy)
    if problem:
        return Result(mutant, problem)
    path = copy / mutant.file
    original = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    try:
        path.write_text(original.replace(mutant.snippet, mutant.replacement), encoding="utf-8")
        status, output = pytest(copy, tests_for(mutant), timeout)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.perf_counter() - started
    if status is None:
        return Result(mutant, "timeout", f"(over {timeout:.0f} s)", seconds)
    if status == 0:
        return Result(mutant, "survived", "", seconds)
    if status in (1, 2):  # tests failed, or could not even be collected (an import broke)
        return Result(mutant, "killed", first_failure(output), seconds)
    return Result(mutant, "error", f"pytest exit {status}: {first_failure(output)}", seconds)


def check_baseline(copy: Path, mutants: list[Mutant], timeout: float) -> None:
    """The selected tests must pass on the unmutated copy, importing the copy."""
    where = subprocess.run([sys.executable, "-c", "import augcli; print(augcli.__file__)"], cwd=copy,
                           env=environment(copy), capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"mutate: the copy is not what gets imported ({where}); aborting")
    tests = tuple(dict.fromkeys(t for m in mutants for t in tests_for(m)))
    status, output = pytest(copy, tests, timeout * 3)
    if status != 0:
        print(output[-3000:])
        sys.exit("mutate: the selected tests fail without any mutant; fix the suite first")


def table(results: list[Result]) -> str:
    width = max(len(r.mutant.id) for r in results)
    rows = [f"{'mutant':<{width}}  {'result':<9}  {'s':>4}  by test / bug"]
    for r in results:
        detail = r.by if r.status in ("killed", "timeout", "error") else r.mutant.bug
        if r.status in ("stale", "ambiguous"):
            detail = f"{r.mutant.file}: snippet {'not found' if r.status == 'stale' else 'found more than once'}"
        rows.append(f"{r.mutant.id:<{width}}  {r.status:<9}  {r.seconds:4.0f}  {detail}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="WORD", help="run the mutants whose id contains a WORD")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per mutant (default 180)")
    parser.add_argument("--min-rate", type=float, default=95, help="kill rate in percent below which to fail")
    parser.add_argument("--check", action="store_true", help="only check that every mutant applies")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the selected tests")
    args = parser.parse_args()

    ids = [m.id for m in MUTANTS]
    if len(ids) != len(set(ids)):
        sys.exit("mutate: mutant ids must be unique")
    chosen = [m for m in MUTANTS if not args.only or any(word in m.id for word in args.only)]
    if problems := missing_tests(chosen):
        sys.exit("mutate: " + "; ".join(problems) + " (update TESTS in scripts/mutate.py)")
    if args.check:
        broken = [(m, p) for m in chosen if (p := problem_of(m, ROOT))]
        for mutant, problem in broken:
            print(f"{problem}: {mutant.id} ({mutant.file})")
        print(f"{len(chosen) - len(broken)} of {len(chosen)} mutants apply")
        return 1 if broken else 0

    with tempfile.TemporaryDirectory(prefix="augcli-mutants-") as base:
        copy = scratch_copy(Path(base))
        if not args.no_baseline:
            check_baseline(copy, [m for m in chosen if not problem_of(m, copy)], args.timeout)
        results = []
        for number, mutant in enumerate(chosen, 1):
            result = run_mutant(copy, mutant, args.timeout)
            results.append(result)
            print(f"[{number}/{len(chosen)}] {mutant.id}: {result.status} {result.by}", file=sys.stderr, flush=True)
    print(table(results))
    applied = [r for r in results if r.status in ("killed", "timeout", "survived")]
    killed = sum(r.status != "survived" for r in applied)
    rate = 100 * killed / len(applied) if applied else 0.0
    unusable = len(results) - len(applied)
    print(f"\nkill rate: {killed}/{len(applied)} = {rate:.1f}%"
          + (f"; {unusable} stale, ambiguous or erroring mutant(s): update scripts/mutate.py" if unusable else ""))
    return 0 if not unusable and rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
