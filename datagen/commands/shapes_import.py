"""``datagen shapes import``: PartNet, PartNet-Mobility, ABC or plain mesh files -> a shape library.

Every importer cleans each part by default (``datagen.shapes.clean``: weld vertices, drop
degenerate, duplicate and two-sided faces, consistent winding, closed parts outward; the
report per part goes to parts.json); ``--no-clean`` keeps the meshes as they are.
``import partnet`` also recognizes PartNet-Mobility folders (``mobility_v2.json``,
``textured_objs/``); ``import partnet-mobility`` is the same with ``--level link``.

Each command loads every item with ``run_batch`` (progress bar, ``failures.jsonl`` in
``--out``, a one-line summary), writes each shape with ``write_shape`` (atomic) and
skips shapes already in ``--out`` (resume = the same command again). Bad items are listed,
not fatal (exit 0); a missing input root, a root with nothing to import, or a batch where every
shape failed exits 1 with one line (``Summary.exit_problem``).
"""

from __future__ import annotations

from pathlib import Path

import click

from datagen.batch import SKIPPED, run_batch
from datagen.errors import InputError
from datagen.io import atomic_write_json
from datagen.shapes.library import is_shape_dir, list_shapes, write_shape

MAX_LISTED = 20


def _need_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise click.ClickException(f"{path}: {what} not found")


def _report(summary, what: str, empty: str) -> None:
    """Failures (the first ``MAX_LISTED``) and the summary line; exit 1 with one line when nothing was
    found (``empty``) or every item failed (``Summary.exit_problem``)."""
    for f in summary.failures[:MAX_LISTED]:
        click.echo(f"failed: {f['item']}: {f['error']}", err=True)
    if summary.failed > MAX_LISTED:
        click.echo(f"... and {summary.failed - MAX_LISTED} more", err=True)
    click.echo(summary.line(what))
    summary.raise_exit_problem(what, empty, verb="imported")


def _empty(root: Path, what: str, expected: str, category: str | None, limit: int | None) -> str:
    """The error line of an import that found nothing to import under ``root``."""
    if limit is not None and limit <= 0:
        return f"{root}: --limit {limit}: nothing to import"
    where = f" of category {category!r}" if category else ""
    return f"{root}: no {what}{where} found (expected {expected})"


def _write_new(out: Path, shape_id: str, load) -> str:
    if is_shape_dir(out / shape_id):
        return SKIPPED
    write_shape(load(), out)
    return "done"


@click.group(name="import")
def import_group():
    """Import external shapes (PartNet, ABC, mesh files) into a shape library."""


@import_group.command("partnet")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Shape library folder to write.")
@click.option("--category", default=None, help="Keep annotations whose meta.json model_cat matches (any case), e.g. Chair.")
@click.option("--level", default="leaf", show_default=True, help="leaf | merged | a depth (1 = chair_back, chair_seat ...).")
@click.option("--splits", "splits_dir", default=None, type=click.Path(path_type=Path), help="Folder with <Category>.{train,val,test}.json.")
@click.option("--max-faces", type=int, default=None, help="Refuse shapes with more faces.")
@click.option("--limit", type=int, default=None, help="Import at most N annotations (first by name).")
@click.option("--clean/--no-clean", default=True, show_default=True, help="Clean part meshes (weld, drop degenerate/duplicate/two-sided faces, fix winding).")
@click.option("--progress/--no-progress", default=True)
def partnet_cmd(root, out, category, level, splits_dir, max_faces, limit, clean, progress):
    """Import PartNet annotations from ROOT (data_v0/ or one <anno_id>/ folder; PartNet-Mobility
    model folders are recognized and read from textured_objs/)."""
    from datagen.shapes.partnet import parse_level, list_partnet, load_partnet, partnet_shape_id, read_partnet_splits

    _need_dir(root, "PartNet root folder")
    try:
        lvl = parse_level(level)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--level") from None
    splits = None
    if splits_dir is not None:
        if category is None:
            raise click.UsageError("--splits needs --category (split files are <Category>.train.json ...)")
        try:
            splits = read_partnet_splits(splits_dir, category)
        except InputError as e:
            raise click.ClickException(str(e)) from None
    folders = list_partnet(root, category)
    if limit is not None:
        folders = folders[: max(limit, 0)]
    out.mkdir(parents=True, exist_ok=True)

    def one(folder: Path) -> str:
        return _write_new(out, partnet_shape_id(folder), lambda: load_partnet(folder, level=lvl, max_faces=max_faces, clean=clean))

    summary = run_batch(folders, one, desc="partnet", failures_path=out / "failures.jsonl", progress=progress)
    _report(summary, "shapes", _empty(root, "PartNet annotations", "<anno_id>/ folders with result.json", category, limit))
    if splits is not None:
        present = {p.name for p in list_shapes(out)}
        result = {k: [i for i in ids if i in present] for k, ids in splits.items()}
        atomic_write_json(out / "splits.json", result)
        click.echo("splits.json: " + ", ".join(f"{k} {len(v)}" for k, v in result.items()))


@import_group.command("partnet-mobility")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Shape library folder to write.")
@click.option("--category", default=None, help="Keep models whose meta.json model_cat matches (any case), e.g. StorageFurniture.")
@click.option("--level", default="leaf", show_default=True, help="leaf | link (one part per mobility link) | a depth of result.json.")
@click.option("--max-faces", type=int, default=None, help="Refuse shapes with more faces.")
@click.option("--limit", type=int, default=None, help="Import at most N models (first by name).")
@click.option("--clean/--no-clean", default=True, show_default=True, help="Clean part meshes (weld, drop degenerate/duplicate/two-sided faces, fix winding).")
@click.option("--progress/--no-progress", default=True)
def partnet_mobility_cmd(root, out, category, level, max_faces, limit, clean, progress):
    """Import PartNet-Mobility models from ROOT (dataset/ of <model_id>/ folders, or one of them)."""
    from datagen.shapes.partnet import list_partnet, parse_level, partnet_shape_id
    from datagen.shapes.partnet_mobility import load_partnet_mobility

    _need_dir(root, "PartNet-Mobility root folder")
    lvl = level
    if level != "link":
        try:
            lvl = parse_level(level)
        except ValueError as e:
            raise click.BadParameter(f"{e} (or 'link')", param_hint="--level") from None
    folders = list_partnet(root, category)
    if limit is not None:
        folders = folders[: max(limit, 0)]
    out.mkdir(parents=True, exist_ok=True)

    def one(folder: Path) -> str:
        return _write_new(
            out, partnet_shape_id(folder), lambda: load_partnet_mobility(folder, level=lvl, max_faces=max_faces, clean=clean)
        )

    summary = run_batch(folders, one, desc="partnet-mobility", failures_path=out / "failures.jsonl", progress=progress)
    _report(summary, "shapes", _empty(root, "PartNet-Mobility models", "<model_id>/ folders with result.json", category, limit))


@import_group.command("abc")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Shape library folder to write.")
@click.option("--parts", type=click.Choice(["components", "patches"]), default="components", show_default=True)
@click.option("--features", "features_root", default=None, type=click.Path(path_type=Path), help="Root of the features archive (<root>/<id>/*.yml) when not beside the OBJs.")
@click.option("--max-parts", type=int, default=16, show_default=True)
@click.option("--min-faces", type=int, default=4, show_default=True, help="Smaller parts are merged or dropped.")
@click.option("--min-area", "min_area_frac", type=float, default=0.001, show_default=True, help="Fraction of total area below which a part is merged or dropped.")
@click.option("--category", default="mechanical", show_default=True)
@click.option("--max-faces", type=int, default=None, help="Refuse meshes with more faces.")
@click.option("--limit", type=int, default=None, help="Import at most N models (first by name).")
@click.option("--clean/--no-clean", default=True, show_default=True, help="Clean part meshes (weld, drop degenerate/duplicate/two-sided faces, fix winding).")
@click.option("--progress/--no-progress", default=True)
def abc_cmd(root, out, parts, features_root, max_parts, min_faces, min_area_frac, category, max_faces, limit, clean, progress):
    """Import ABC models from ROOT (a folder of <8-digit id>/ folders, or one of them). A folder
    with only the STL of a model (the ABC stl chunks) is read too (components as parts)."""
    from datagen.shapes.abc import list_abc, load_abc
    from datagen.shapes.meshfile import sanitize

    _need_dir(root, "ABC root folder")
    if max_parts < 1:
        raise click.BadParameter("must be >= 1", param_hint="--max-parts")
    folders = list_abc(root)
    if limit is not None:
        folders = folders[: max(limit, 0)]
    out.mkdir(parents=True, exist_ok=True)

    def one(folder: Path) -> str:
        return _write_new(
            out,
            sanitize(folder.name, fallback="shape"),
            lambda: load_abc(
                folder,
                parts=parts,
                features_root=features_root,
                min_faces=min_faces,
                min_area_frac=min_area_frac,
                max_parts=max_parts,
                max_faces=max_faces,
                category=category,
                clean=clean,
            ),
        )

    summary = run_batch(folders, one, desc="abc", failures_path=out / "failures.jsonl", progress=progress)
    _report(summary, "shapes", _empty(root, "ABC models", "<8-digit id>/ folders with an .obj or .stl", None, limit))


@import_group.command("mesh")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Shape library folder to write.")
@click.option("--category", default="object", show_default=True)
@click.option("--up", type=click.Choice(["auto", "x", "y", "z"]), default="auto", show_default=True, help="The files' up axis; auto = y for OBJ/GLB/GLTF, z for PLY/STL/OFF.")
@click.option("--max-faces", type=int, default=None, help="Refuse meshes with more faces.")
@click.option("--max-parts", type=int, default=64, show_default=True, help="Components beyond this are merged into one part.")
@click.option("--clean/--no-clean", default=True, show_default=True, help="Clean part meshes (weld, drop degenerate/duplicate/two-sided faces, fix winding).")
@click.option("--progress/--no-progress", default=True)
def mesh_cmd(files, out, category, up, max_faces, max_parts, clean, progress):
    """Import mesh FILES (.obj .glb .gltf .ply .stl .off; a folder means the mesh files in it)."""
    from datagen.shapes.meshfile import MESH_SUFFIXES, load_meshfile, sanitize

    paths: list[Path] = []
    for f in files:
        if f.is_dir():
            paths += sorted(p for p in f.iterdir() if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)
        else:
            paths.append(f)
    if not any(p.exists() for p in paths):
        raise click.ClickException(f"no input mesh files found in: {', '.join(map(str, files))}")
    stems = [sanitize(p.stem, fallback="shape") for p in paths]
    ids = [f"{s}_{sanitize(p.suffix.lstrip('.'), 'x')}" if stems.count(s) > 1 else s for s, p in zip(stems, paths)]
    out.mkdir(parents=True, exist_ok=True)
    id_of = dict(zip(paths, ids))

    def one(path: Path) -> str:
        sid = id_of[path]
        return _write_new(
            out,
            sid,
            lambda: load_meshfile(path, category=category, up=up, max_faces=max_faces, shape_id=sid, max_parts=max_parts, clean=clean),
        )

    summary = run_batch(paths, one, desc="mesh", failures_path=out / "failures.jsonl", progress=progress)
    _report(summary, "shapes", f"no input mesh files found in: {', '.join(map(str, files))}")
