"""Is augmentation worth it? An experiment that answers with numbers (`make evidence`).

Two small datasets that ship with the Python stack (no download) are exported to
class-per-folder PNG trees, upscaled so that a rotation of a few degrees means something:
scikit-learn's ``load_digits`` (1,797 8x8 digits, 10 classes, to 32x32) and scikit-image's
``lfw_subset`` (100 faces, 100 non-faces, 25x25, to 50x50). For every seed:

1. a stratified train/test split, made *before* anything is augmented;
2. a random order of each class's training pool; the first n images per class (n = 5, 10, 20)
   are the small training set, so the sets are nested and every size sees the same split;
3. the training set of the largest n is expanded with ``augcli.expand`` (the public API),
   once per recipe, 10 copies per source, the seed as ``--seed``. augcli draws each output from
   its own key (the recipe seed, the file's relative path, the copy number), never from a stream
   shared with other files, so the copies of a source are the same bytes whichever other files sit
   in the tree: taking a smaller n's sources from the larger run is the same as expanding the smaller
   set on its own (tests/test_evidence.py checks this);
4. SVC, 1-NN and a small MLP from scikit-learn are trained on the pixels (box-downsampled to half
   the exported side, 16x16 and 25x25, so fitting stays quick) of: the n originals
   ("none"), the n originals plus their copies (one row per recipe), and "more real data": the
   same number of images per class drawn from the unused part of the training pool (all of it when
   the pool is smaller), the ceiling that augmentation should approach;
5. accuracy on the untouched test images is recorded per seed; the report gives mean +- std over
   seeds and the paired difference against "none" with its 95% t-interval.

    python scripts/evidence.py                         # the full run (make evidence)
    python scripts/evidence.py --seeds 1 --sizes 5 --models knn --no-plot   # a quick look

It writes DOCS/evidence.md (the tables, the command, the machine and the time), DOCS/evidence.csv
(one row per seed, dataset, size, condition and model) and DOCS/evidence.png, and prints where.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# Each worker process runs one model at a time; BLAS threads on top of that would only fight
# over the two cores (set before numpy is imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import augcli  # noqa: E402
from evidence_report import MORE_REAL, NONE, write_report  # noqa: E402  (the sibling module: tables, plot)

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Dataset:
    name: str
    side: int  # exported PNG side in pixels: what augcli transforms
    feature_side: int  # the models see each image box-downsampled to this side (4x fewer numbers to fit)
    test_fraction: float
    recipes: tuple[str, ...]  # recipe names in recipes/, in the order of the report


DATASETS = {
    "digits": Dataset("digits", 32, 16, 0.3, ("digits-safe", "flips", "photometric")),
    "lfw": Dataset("lfw", 50, 25, 0.4, ("digits-safe", "flips", "photometric")),
}
RECIPE_ROLE = {  # what each recipe stands for in the experiment
    "digits-safe": "label-preserving geometry: rotate +-10 deg, shear, shift, zoom, contrast",
    "flips": "flips only (hflip, vflip p 0.5): the ablation that should hurt digits",
    "photometric": "colour and texture only: brightness, contrast, gamma, blur, noise, JPEG",
}
MODELS = ("svc", "knn", "mlp")


def load_arrays(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images as uint8 HxW, integer labels, class names) of a bundled dataset."""
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = np.round(bunch.images * (255 / 16)).astype(np.uint8)  # 17 grey levels, ink bright
        return images, bunch.target.astype(int), [f"digit_{d}" for d in bunch.target_names]
    if name == "lfw":
        from skimage.data import lfw_subset

        images = np.round(lfw_subset() * 255).astype(np.uint8)
        labels = np.repeat([0, 1], 100)  # the first 100 are faces, the rest are not (its docstring)
        return images, labels, ["face", "non_face"]
    raise SystemExit(f"evidence: unknown dataset {name!r}; known: {', '.join(DATASETS)}")


def export(dataset: Dataset, folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Write every image of ``dataset`` as FOLDER/<class>/<index>.png, upscaled (bicubic) to its side."""
    images, labels, classes = load_arrays(dataset.name)
    shutil.rmtree(folder, ignore_errors=True)
    paths = []
    for index, (image, label) in enumerate(zip(images, labels)):
        path = folder / classes[label] / f"{dataset.name}_{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).resize((dataset.side, dataset.side), Image.Resampling.BICUBIC).save(path)
        paths.append(path)
    return paths, labels, classes


def split(labels: np.ndarray, seed: int, test_fraction: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Stratified split: (test indices, per class the training pool's indices in a random order).

    The first n of each class's order is the n-per-class training set, so sizes are nested."""
    from sklearn.model_selection import train_test_split

    pool, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                                  random_state=seed)
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(pool[labels[pool] == c]) for c in range(labels.max() + 1)]
    return np.sort(test), orders


def pixels(paths: list[Path], side: int) -> np.ndarray:
    """Rows of grey pixels in [0, 1], one per image, box-downsampled to ``side`` x ``side``."""
    rows = []
    for path in paths:
        with Image.open(path) as image:
            small = image.convert("L").resize((side, side), Image.Resampling.BOX)
        rows.append(np.asarray(small, dtype=np.float32).ravel() / 255)
    return np.stack(rows)


def make_model(name: str, seed: int):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    if name == "svc":
        return SVC(kernel="rbf", gamma="scale")
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=1)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=500, random_state=seed)
    raise SystemExit(f"evidence: unknown model {name!r}; known: {', '.join(MODELS)}")


def accuracy(model_name: str, seed: int, train_x, train_y, test_x, test_y) -> float:
    from sklearn.exceptions import ConvergenceWarning

    model = make_model(model_name, seed)
    with warnings.catch_warnings():
        # a capped number of iterations is part of "a quick model"; the warning would only be noise
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, train_y)
    return float(np.mean(model.predict(test_x) == test_y))


@dataclass(frozen=True)
class Job:
    dataset: str
    seed: int
    sizes: tuple[int, ...]
    models: tuple[str, ...]
    copies: int
    work: str  # this run's scratch folder


def run_seed(job: Job) -> list[dict]:
    """One seed of one dataset: split, expand with each recipe, train and test every model."""
    dataset = DATASETS[job.dataset]
    work = Path(job.work)
    exported = work / "export" / dataset.name
    paths = sorted(exported.rglob("*.png"))
    classes = sorted(p.name for p in exported.iterdir())
    labels = np.array([classes.index(p.parent.name) for p in paths])
    test, orders = split(labels, job.seed, dataset.test_fraction)
    test_x, test_y = pixels([paths[i] for i in test], dataset.feature_side), labels[test]

    # the training tree: the largest size's sources; smaller sizes are its first n per class
    biggest = max(job.sizes)
    seed_dir = work / "runs" / dataset.name / f"seed{job.seed:02d}"
    shutil.rmtree(seed_dir, ignore_errors=True)
    train_dir = seed_dir / "train"
    for order in orders:
        for i in order[:biggest]:
            target = train_dir / paths[i].parent.name / paths[i].name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths[i], target)
    assert not set(test) & {int(i) for order in orders for i in order}, "a test image is in the training pool"

    expanded = {}  # recipe -> {source relpath: [output paths]}
    for recipe in dataset.recipes:
        out = seed_dir / recipe
        summary = augcli.expand(train_dir, out, recipe=ROOT / "recipes" / f"{recipe}.yaml", copies=job.copies,
                                seed=job.seed, jobs=1)
        if summary.skipped:  # a missing copy would quietly shrink one condition's training set
            raise RuntimeError(f"augcli skipped {summary.skipped} file(s) in {train_dir}: {summary.skips}")
        by_source: dict[str, list[Path]] = {}
        with open(out / "manifest.jsonl") as manifest:
            for line in manifest:
                record = json.loads(line)
                by_source.setdefault(record["source"], []).append(out / record["path"])
        expanded[recipe] = by_source

    rows = []
    for n in job.sizes:
        chosen = [int(i) for order in orders for i in order[:n]]
        relpaths = [f"{paths[i].parent.name}/{paths[i].name}" for i in chosen]
        train_sets = {NONE: ([paths[i] for i in chosen], labels[chosen])}
        for recipe, by_source in expanded.items():
            outputs = [(p, labels[i]) for i, rel in zip(chosen, relpaths) for p in by_source[rel]]
            train_sets[recipe] = ([p for p, _ in outputs], np.array([y for _, y in outputs]))
        real = [int(i) for order in orders for i in order[: n * (job.copies + 1)]]  # capped by the pool
        train_sets[MORE_REAL] = ([paths[i] for i in real], labels[real])
        for condition, (train_paths, train_y) in train_sets.items():
            train_x = pixels(train_paths, dataset.feature_side)
            for model in job.models:
                rows.append({"dataset": dataset.name, "seed": job.seed, "per_class": n, "condition": condition,
                             "model": model, "train_images": len(train_paths), "test_images": len(test),
                             "accuracy": accuracy(model, job.seed, train_x, train_y, test_x, test_y)})
    return rows


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(sorted(int(s) for s in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/evidence.py", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,lfw", help="comma-separated: digits, lfw")
    parser.add_argument("--sizes", type=_sizes, default="5,10,20", help="training images per class, comma-separated")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (split, subsample, augcli --seed)")
    parser.add_argument("--models", default="svc,knn,mlp", help="comma-separated: svc, knn, mlp")
    parser.add_argument("--copies", type=int, default=10, help="augmented copies per source (augcli --copies)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="seeds run in parallel (augcli runs -j 1 in each)")
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "evidence", help="scratch folder")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where the report goes")
    parser.add_argument("--no-plot", action="store_true", help="skip the plot (matplotlib not needed)")
    args = parser.parse_args(argv)
    sizes = args.sizes
    models = tuple(m.strip() for m in args.models.split(","))
    datasets = [d.strip() for d in args.datasets.split(",")]
    for name in datasets:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    for name in models:
        if name not in MODELS:
            parser.error(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    if min(sizes) < 1 or args.seeds < 1 or args.copies < 1 or args.jobs < 1:
        parser.error("--sizes, --seeds, --copies and --jobs must be at least 1")
    for module, needed in (("sklearn", True), ("matplotlib", not args.no_plot)):
        try:
            if needed:
                __import__(module)
        except ImportError:
            parser.error(f"{module} is not installed: run `make evidence` or `pip install -e '.[evidence]'`"
                         + ("" if module == "sklearn" else " (or pass --no-plot)"))

    started, cpu_before = time.perf_counter(), cpu_seconds()
    for name in datasets:
        export(DATASETS[name], args.work / "export" / name)
    jobs = [Job(name, seed, sizes, models, args.copies, str(args.work))
            for name in datasets for seed in range(args.seeds)]
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) if args.jobs > 1 else _InProcess() as pool:
        for done, (job, result) in enumerate(zip(jobs, pool.map(run_seed, jobs)), start=1):
            rows.extend(result)
            print(f"evidence: {done}/{len(jobs)} done ({job.dataset}, seed {job.seed}) after "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before

    command = "python scripts/evidence.py " + " ".join(sys.argv[1:] if argv is None else argv)
    settings = (f"{args.copies} augcli copies per source image (originals kept), training sets of "
                f"{'/'.join(map(str, sizes))} images per class, seeds 0-{args.seeds - 1}; test fraction "
                + ", ".join(f"{d} {DATASETS[d].test_fraction}" for d in datasets))
    written = write_report(rows, args.docs, command=command.strip(), settings=settings, seconds=seconds, cpu=cpu,
                           jobs=args.jobs, plot=not args.no_plot, datasets=[DATASETS[d] for d in datasets],
                           roles=RECIPE_ROLE, machine=machine())
    for path in written:
        print(f"evidence: wrote {path}")
    return 0


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished workers: what the run would take on an idle machine."""
    import resource

    return sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for field in ("ru_utime", "ru_stime"))


class _InProcess:
    """``-j 1``: run the seeds here, one after the other (no worker process to start or debug)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, function, items):
        return map(function, items)


def machine() -> str:
    import sklearn

    return (f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.processor() or 'unknown CPU'}), "
            f"Python {platform.python_version()}, augcli {augcli.__version__}, scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    sys.exit(main())
