"""The command-line interface: click commands only.

Each command parses options, calls the library and prints. Library errors
are turned into one line on stderr and an exit status at one boundary
(``AugcliGroup.invoke``): 1 for a failed run, 2 for bad usage or a bad
recipe; ``--debug`` shows the traceback instead. Heavy modules are imported
inside the commands so ``augcli --help`` stays instant.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from . import __version__
from .limits import DEFAULT_MAX_PIXELS, MAX_SEED


class AugcliGroup(click.Group):
    """Maps library exceptions to exit statuses, never a traceback."""

    def invoke(self, ctx: click.Context):
        from .errors import AugcliError, Interrupted, RecipeError

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except RecipeError as exc:
            _traceback_if_debug(ctx)
            for problem in exc.problems:
                click.echo(problem.format(exc.filename), err=True)
            ctx.exit(exc.exit_code)
        except AugcliError as exc:
            _traceback_if_debug(ctx)
            click.echo(f"augcli: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            if isinstance(exc, Interrupted):
                click.echo(f"augcli: {exc}", err=True)
            else:
                click.echo("augcli: interrupted; finished images are kept and recorded. "
                           "Run the same command with --resume to finish.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # the reader of our output went away (`augcli recipes | head -1`): stop quietly, as
            # SIGPIPE would; what is still buffered goes nowhere instead of failing again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:  # a bug, not bad input: still one line unless --debug
            _traceback_if_debug(ctx)
            click.echo(f"augcli: internal error: {type(exc).__name__}: {exc} (run with --debug for the "
                       "traceback, and please report it)", err=True)
            ctx.exit(1)


def _traceback_if_debug(ctx: click.Context) -> None:
    """--debug adds the traceback; the message and the exit status stay the same."""
    if ctx.params.get("debug"):
        import traceback

        traceback.print_exc(file=sys.stderr)


@click.group(cls=AugcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="augcli")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.option("--no-plugins", is_flag=True,
              help="Load no ops from installed plugin packages (as AUGCLI_NO_PLUGINS=1).")
def cli(debug: bool, no_plugins: bool) -> None:
    """Offline image dataset augmentation: a class-per-folder tree and a YAML
    recipe in, an augmented copy tree and a manifest out.

    \b
    Example:
      augcli expand data/ out/ --recipe flips
    """
    from .ops import plugins

    if no_plugins:
        os.environ[plugins.SWITCH] = "1"  # worker processes inherit it
    plugins.report_to(lambda line: click.echo(f"augcli: warning: {line}", err=True))


class _AsGiven(click.ParamType):
    """An option handed to the library as typed: a whole number as an int, any
    other text as it is. The library checks it (``augcli.arguments``), so the
    command line and Python get the same line for the same bad value."""

    name = "n"  # the metavar, N, unless an option names its own

    def convert(self, value, param, ctx):
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,40}", value.strip()):
            return int(value)
        return value


def _load_recipe(path: str, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Read and validate a recipe (output sizes bounded by ``max_pixels``); say
    once per run which arguments it accepts but does not apply (Keras
    training-time arguments such as rescale)."""
    from .recipe import Recipe

    from .surprises import warnings_for

    recipe = Recipe.load(path, max_pixels=max_pixels)
    for notice in recipe.notices():
        click.echo(f"augcli: notice: {notice}", err=True)
    for warning in warnings_for(recipe):  # runs as written, but seldom does what was meant
        click.echo(f"augcli: warning: {warning}", err=True)
    return recipe


def _splits(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    if not names:
        raise click.BadParameter("give at least one split name, e.g. train or train,val",
                                 param_hint="'--augment-splits'")
    return names


def _storage_options(command):
    """``--storage-option KEY=VALUE`` (repeatable), handed on as a dict."""
    from .storage import parse_options

    return click.option(
        "--storage-option", "storage_options", multiple=True, metavar="KEY=VALUE",
        callback=lambda ctx, param, pairs: parse_options(pairs),
        help="For SRC/OUT given as URLs (s3://, gs://, az://): an fsspec storage option, e.g. "
             "endpoint_url=http://127.0.0.1:9000 or profile=NAME; repeatable. Credentials may come from the "
             "environment or profiles instead; they are never printed or recorded.")(command)


def _existing_tree(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A local folder that must exist (as click.Path(exists=True) checks), or a URL its store answers for."""
    from .storage import is_url

    return value if value is None or is_url(value) else click.Path(exists=True, file_okay=False).convert(
        value, param, ctx)


@cli.command()
@click.argument("src", type=click.Path(file_okay=False, path_type=str))
@click.argument("out", type=click.Path(file_okay=False, path_type=str))
@click.option("-r", "--recipe", "recipe_path", required=True, type=click.Path(dir_okay=False),
              help="YAML recipe file, or a built-in recipe's name (augcli recipes).")
@click.option("--copies", type=_AsGiven(), help="Augmented outputs per source (overrides the recipe; 0 = originals only).")
@click.option("--seed", type=_AsGiven(), help="Run seed (overrides the recipe; default 0).")
@click.option("--balance", "balance", type=_AsGiven(), metavar="max|N",
              help="Top every class up to the largest class's count (max) or to N images (overrides the recipe).")
@click.option("-j", "--jobs", type=_AsGiven(), help="Worker processes [default: CPU count; at most that many].")
@click.option("--backend", type=_AsGiven(), metavar="[loky|threading|dask]", default="loky", show_default=True,
              help="joblib backend; dask runs on a Dask cluster (pip install -e '.[dask]' in the checkout).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler for --backend dask, e.g. tcp://10.0.0.5:8786 [default: a local cluster].")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted run, or bring OUT up to date after SRC or the recipe changed: only the "
                   "outputs a change affects are redone or removed.")
@click.option("--prune", is_flag=True,
              help="With --resume: allow it to remove outputs in bulk (OUT made from another SRC, or most of OUT "
                   "no longer asked for), which it otherwise refuses.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier augcli output in OUT.")
@click.option("--dry-run", is_flag=True, help="Print the plan (classes, sources, outputs) and write nothing.")
@click.option("--strict", is_flag=True, help="Exit 1 if any source file was skipped (after finishing the rest).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
@click.option("-v", "--verbose", is_flag=True, help="Name every skipped and ignored file [default: the first few].")
@click.option("--max-pixels", type=_AsGiven(), default=DEFAULT_MAX_PIXELS, show_default=True,
              help="Skip images with more pixels than this (decompression bombs); outputs are bounded by it too. "
                   "0 = no limit.")
@click.option("--augment-splits", metavar="NAMES",
              help="Comma-separated splits to augment in a train/val/test layout; others are copied "
                   "[default: train].")
@_storage_options
@click.option("--layout", type=click.Choice(["folders", "yolo", "coco", "masks"]),
              help="SRC's layout: class folders, or a detection/segmentation dataset whose boxes and masks move "
                   "with the pixels [default: detected from SRC].")
def expand(src, out, recipe_path, copies, seed, balance, jobs, backend, scheduler, resume, prune, overwrite, dry_run,
           strict, quiet, verbose, max_pixels, augment_splits, storage_options, layout):
    """Write an augmented copy of the image tree SRC into OUT.

    SRC holds one folder per class (SRC/cat/*.jpg), optionally under
    train/ val/ test/. OUT gets the same tree with the originals and the
    augmented copies, plus augcli.json, manifest.jsonl and skipped.jsonl.
    SRC is never modified. SRC and OUT may be URLs (s3://bucket/data,
    gs://, az://) with the cloud extra (pip install -e '.[cloud]' in the checkout).

    \b
    Examples:
      augcli expand data/ out/ --recipe flips
      augcli expand data/ out/ -r standard --copies 8 -j 4
      augcli expand data/ out/ -r standard --resume   # finish, or no-op if done
      augcli expand s3://bucket/data s3://bucket/out -r standard   # object storage
    """
    from ._expand import expand as run_expand
    from .arguments import check_max_pixels

    # loky's resource-tracker process chatters about semaphores after a Ctrl-C;
    # it inherits this environment, and its warnings are not the user's business
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    from .worker import keep_freed_memory

    keep_freed_memory()  # this process is augcli's own; with -j 1 it is the worker too
    recipe = _load_recipe(recipe_path, check_max_pixels(max_pixels))
    progress = _Progress(enabled=not quiet and not dry_run and sys.stderr.isatty())
    try:
        summary = run_expand(
            src, out, recipe, copies=copies, seed=seed, balance=balance, jobs=jobs, backend=backend, scheduler=scheduler,
            resume=resume, prune=prune,
            overwrite=overwrite, dry_run=dry_run, max_pixels=max_pixels,
            augment_splits=_splits(augment_splits), layout=layout, on_start=progress.start,
            on_progress=progress.update, storage_options=storage_options,
        )
    finally:
        progress.close()
    if summary.dry_run:
        _print_plan(summary, verbose)
        return
    for line in summary.report(quiet, verbose):
        click.echo(line, err=True)
    if strict and summary.skipped:
        click.echo(f"augcli: error: {summary.skipped} source file(s) skipped (--strict); "
                   f"see {summary.skipped_file}", err=True)
        sys.exit(1)


def _print_plan(summary, verbose: bool) -> None:
    width = max([len("class")] + [len(name) for name, _, _ in summary.plan_rows])
    click.echo(f"{'class':<{width}}  {'before':>7}  {'after':>7}")
    total_before = total_after = 0
    for name, sources, outputs in summary.plan_rows:
        click.echo(f"{name:<{width}}  {sources:>7}  {outputs:>7}")
        total_before, total_after = total_before + sources, total_after + outputs
    click.echo(f"{'total':<{width}}  {total_before:>7}  {total_after:>7}")
    for line in summary.file_lines(verbose):
        click.echo(line)
    if summary.change_line():
        click.echo(summary.change_line())
    click.echo(summary.line())


class _Progress:
    """A tqdm bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def start(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@cli.command("split")
@click.argument("src", type=click.Path(file_okay=False, path_type=str))
@click.argument("out", type=click.Path(file_okay=False, path_type=str))
@click.option("--val", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Fraction of each class's images for val/.")
@click.option("--test", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Fraction of each class's images for test/ (0: no test split).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Which images go where (the same seed, the same split).")
@click.option("-q", "--quiet", is_flag=True, help="No table and no summary line.")
def split_command(src, out, val, test, seed, quiet):
    """Split the class folders of SRC into OUT/train, OUT/val (and OUT/test) by
    source image, stratified and deterministic, before augmenting: copies of
    one source then never land in two splits. Run it again after SRC changed.

    \b
    Example:
      augcli split data/ data-split/ --val 0.2 --test 0.1
      augcli expand data-split/ out/ -r standard     # augments train/ only
    """
    from .split import split

    summary = split(src, out, val=val, test=test, seed=seed)
    if not quiet:
        click.echo("\n".join(summary.table()))
        for name, reason in summary.skipped:
            click.echo(f"augcli: skipped {name}: {reason}", err=True)
        click.echo(summary.line(), err=True)


@cli.command()
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(dir_okay=False))
@click.option("--max-pixels", type=_AsGiven(), default=DEFAULT_MAX_PIXELS, show_default=True,
              help="The most pixels an output size in the recipe may have (as expand's option); 0 = no limit.")
def validate(recipe_path, max_pixels):
    """Validate RECIPE (a file, or a built-in recipe's name) and print it
    normalised (every default written out).

    Exit status 0 when valid; 2 with one line per problem otherwise.

    \b
    Example:
      augcli validate standard
    """
    from .arguments import check_max_pixels

    click.echo(_load_recipe(recipe_path, check_max_pixels(max_pixels)).to_yaml(), nl=False)


@cli.command()
@click.argument("src", required=False, type=click.Path(file_okay=False))
@click.option("-r", "--recipe", "recipe_path", type=click.Path(dir_okay=False), help="YAML recipe file, or a built-in recipe's name (augcli recipes).")
@click.option("-o", "--out", "out_path", default="preview.png", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the contact sheet (PNG).")
@click.option("-n", "--images", type=_AsGiven(), default=6, show_default=True,
              help="Source images (rows), spread over the classes.")
@click.option("-k", "--variants", type=_AsGiven(),
              help="Augmented versions per image (columns after the original) [default: the recipe's copies, "
                   "at most 4; 4 for variants or --from].")
@click.option("--seed", type=_AsGiven(), help="Seed (default: the recipe's): the same as expand's.")
@click.option("--from", "from_out", type=click.Path(exists=True, file_okay=False),
              help="Draw the sheet from an existing output folder's manifest instead of a recipe.")
@_storage_options
@click.option("--layout", type=click.Choice(["folders", "yolo", "coco", "masks"]),
              help="SRC's layout (as expand's); boxes and masks are drawn on the tiles [default: detected].")
def preview(src, recipe_path, out_path, images, variants, seed, from_out, storage_options, layout):
    """Write a contact sheet PNG: one row per sampled image, the original first,
    then augmentations exactly as expand would write them, each labelled with
    the ops that fired.

    \b
    Examples:
      augcli preview data/ --recipe standard
      augcli preview data/ -r heavy -n 8 -k 6 --out heavy.png
      augcli preview --from out/ --out check.png
    """
    from ._preview import check_paths, preview_rows, rows_from_output, save_sheet, sheet
    from .arguments import check_seed, check_sheet
    from .errors import UsageError

    seed = check_seed(seed)
    images, variants = check_sheet(images, 4 if variants is None else variants)
    given = click.get_current_context().get_parameter_source("variants") is not click.core.ParameterSource.DEFAULT
    check_paths(src, recipe_path, out_path, from_out)
    from .storage import tree_of

    if from_out is not None:
        rows = rows_from_output(from_out, images=images, variants=variants, seed=seed or 0)
    else:
        recipe = _load_recipe(recipe_path)
        if not given and not recipe.variants and recipe.copies > 0:
            variants = min(variants, recipe.copies)  # only copies expand writes: no column it never makes
        rows = preview_rows(tree_of(src, storage_options), recipe, images=images,
                            variants=variants, seed=seed, layout=layout)
    if not rows:
        raise UsageError("no images to preview (no usable images in the augmented split)")
    save_sheet(sheet(rows), out_path, storage_options)
    columns = max(len(r.tiles) for r in rows)
    click.echo(f"augcli: preview of {len(rows)} images x {columns - 1} augmentations written to {out_path}",
               err=True)


@cli.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--source", "source", callback=_existing_tree,
              help="Also check that the source images still have the recorded hashes.")
@_storage_options
def verify(out, source, storage_options):
    """Re-hash every image in OUT against manifest.jsonl; report missing, extra
    and changed files by name. Exit 1 on any mismatch.

    \b
    Examples:
      augcli verify out/
      augcli verify out/ --source data/
    """
    from ._verify import verify as run_verify

    report = run_verify(out, source, storage_options=storage_options)
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary(), err=True)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.argument("src", type=click.Path(file_okay=False))
@click.argument("newout", type=click.Path(file_okay=False))
@click.option("--only", metavar="PATTERN", help="Only outputs whose path matches this glob, e.g. 'cat/*_aug0[12].jpg'.")
@click.option("--max-pixels", type=_AsGiven(), default=DEFAULT_MAX_PIXELS, show_default=True,
              help="Refuse any image (source or output) with more pixels than this; 0 = no limit.")
@_storage_options
def replay(manifest, src, newout, only, max_pixels, storage_options):
    """Regenerate the images of a manifest from SRC and the recorded ops alone
    (no recipe needed): byte-identical with the same library versions.

    \b
    Examples:
      augcli replay out/manifest.jsonl data/ out-again/
      augcli replay out/manifest.jsonl data/ subset/ --only 'cat/*'
    """
    from ._replay import replay as run_replay

    written = run_replay(manifest, src, newout, only=only, max_pixels=max_pixels,
                         storage_options=storage_options)
    click.echo(f"augcli: replayed {written} images into {newout}", err=True)


@cli.command()
@click.argument("name", required=False)
def transforms(name):
    """List every op, policy and composition with its parameters and defaults,
    or show NAME in full. Names from albumentations, torchvision and Keras
    (HorizontalFlip, ColorJitter, ...) point to the augcli op.

    \b
    Examples:
      augcli transforms
      augcli transforms rotate
      augcli transforms one_of
    """
    from .catalogue import describe, describe_composition, listing
    from .errors import UsageError
    from .names import pointer
    from .ops import lookup
    from .recipe import COMPOSITIONS, suggest_step

    if name is None:
        click.echo(listing(), nl=False)
        return
    if name in COMPOSITIONS:
        click.echo(describe_composition(name), nl=False)
        return
    spec = lookup(name)
    if spec is None:
        elsewhere, hint = pointer(name), suggest_step(name)
        found = f": {elsewhere}" if elsewhere else (f" (did you mean {hint!r}?)" if hint else "")
        raise UsageError(f"unknown op {name!r}{found}; 'augcli transforms' lists them all")
    click.echo(describe(spec), nl=False)


@cli.command()
@click.argument("name", required=False)
@click.option("-w", "--write", "write_to", type=click.Path(dir_okay=False),
              help="Write recipe NAME to this file (never over an existing one) instead of printing it.")
def recipes(name, write_to):
    """List the built-in starter recipes, or print recipe NAME to copy and edit.

    Wherever a recipe is taken (--recipe, validate), a built-in's name works
    when no file of that name exists.

    \b
    Examples:
      augcli recipes
      augcli recipes standard > my-recipe.yaml
      augcli recipes heavy --write heavy.yaml
      augcli expand data/ out/ --recipe standard
    """
    from .errors import UsageError
    from .ops.spec import close_match
    from .recipe import builtin_recipes

    shipped = builtin_recipes()
    if name is None:
        if write_to:
            raise UsageError("--write needs the NAME of the recipe to write, e.g. augcli recipes standard --write my.yaml")
        width = max(map(len, shipped))
        for recipe_name, path in shipped.items():
            click.echo(f"{recipe_name:<{width}}  {_first_comment(path.read_text(encoding='utf-8'))}")
        return
    path = shipped.get(name.removesuffix(".yaml"))
    if path is None:
        hint = close_match(name, list(shipped))
        raise UsageError(f"no built-in recipe {name!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                         + f"; they are: {', '.join(shipped)}")
    text = path.read_text(encoding="utf-8")
    if write_to is None:
        click.echo(text, nl=False)
        return
    try:
        with open(write_to, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UsageError(f"{write_to} already exists; choose another name or remove it first") from None
    except OSError as exc:
        raise UsageError(f"cannot write {write_to}: {exc.strerror or exc}") from None
    click.echo(f"augcli: wrote {write_to} (built-in recipe {name}); edit it, then --recipe {write_to}", err=True)


def _first_comment(text: str) -> str:
    """A recipe's description: its leading comment up to the first colon or full stop."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    return re.split(r":\s|\.\s+(?=[A-Z])", " ".join(lines), maxsplit=1)[0].rstrip(".")


@cli.command()
def schema():
    """Print a JSON Schema of recipe version 1, generated from the op registry.

    Save it and point your editor's YAML language server at it for
    completion and validation while writing recipes.

    \b
    Example:
      augcli schema > augcli-recipe.schema.json
      # first line of a recipe:
      # yaml-language-server: $schema=./augcli-recipe.schema.json
    """
    import json

    from .catalogue import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command("manifest")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
              help="csv: one row per image with the ops in one column; jsonl: the manifest as is.")
def manifest_command(out, fmt):
    """Print OUT's manifest as a table (one row per written image).

    \b
    Examples:
      augcli manifest out/ > manifest.csv
      python -c "import pandas as pd; print(pd.read_csv('manifest.csv', dtype={'seed': 'Int64'}))"
    """
    from .manifest import dumps
    from .stats import load_manifest, to_csv

    records = load_manifest(out)  # checked first: a corrupt line is one error line, not half a table
    if fmt == "csv":
        click.echo(to_csv(records), nl=False)
    else:
        for record in records:
            click.echo(dumps(record))


@cli.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(out, as_json):
    """Summarise OUT: images per class, how often each op fired, parameter ranges.

    \b
    Example:
      augcli stats out/
    """
    from .stats import load_manifest, stats_json, summarise, to_text

    summary = summarise(load_manifest(out))
    if as_json:
        click.echo(stats_json(summary))
    else:
        click.echo(to_text(summary), nl=False)


def main() -> None:
    cli(prog_name="augcli")


if __name__ == "__main__":
    main()
