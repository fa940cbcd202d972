"""``datagen corrupt``: apply the five part corruptions to a shape library (one library call)."""

from __future__ import annotations

import click

from datagen.corrupt.base import TYPES


def _floats(option: str, text: str, n: int = 2) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected {n} comma-separated numbers, got {text!r}", param_hint=option) from None
    if len(vals) != n:
        raise click.BadParameter(f"expected {n} comma-separated numbers, got {text!r}", param_hint=option)
    return vals


@click.command()
@click.argument("shapes_root", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder (one folder per corrupted shape).")
@click.option("--types", default=",".join(TYPES), show_default=True, help="Comma-separated corruption types.")
@click.option("--per-shape", default=1, show_default=True, type=int, help="Corruptions per shape and type (k = 0..n-1).")
@click.option("--seed", default=0, show_default=True, type=int, help="Run seed; rng per item = rng_for(seed, shape, type, k).")
@click.option("--max-faces", default=None, type=int, help="Reject input parts with more faces than this.")
@click.option("--attempts", default=3, show_default=True, type=int, help="Redraws when a sample fails a check.")
@click.option("--position-range", default="0.15,0.4", show_default=True, help="Translation, share of the part bbox diagonal: MIN,MAX.")
@click.option("--angle-range", default="15,45", show_default=True, help="Rotation angle, degrees: MIN,MAX.")
@click.option("--removed-range", default="0.1,0.35", show_default=True, help="Broken: removed share of the part volume: MIN,MAX.")
@click.option("--missing-min-area", default=0.01, show_default=True, type=float, help="Missing: smallest removable part, share of the surface area.")
@click.option("--min-displacement", default=0.02, show_default=True, type=float, help="Check: translation, share of the shape diagonal.")
@click.option("--min-angle", default=10.0, show_default=True, type=float, help="Check: rotation angle, degrees.")
@click.option("--min-removed", default=0.05, show_default=True, type=float, help="Check: broken removed volume share.")
@click.option("--min-chamfer", default=0.005, show_default=True, type=float, help="Check: rotation/swapped Chamfer distance, share of the shape diagonal.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def corrupt(shapes_root, out, types, per_shape, seed, max_faces, attempts, position_range, angle_range, removed_range,
            missing_min_area, min_displacement, min_angle, min_removed, min_chamfer, progress):
    """Corrupt every shape of SHAPES_ROOT with each type, write OUT/<shape>__<type>__<k>/.

    Each output folder is a shape folder plus corruption.json and anomaly/before.obj,
    anomaly/after.obj. Existing outputs are skipped (resume); refusals go to
    OUT/refusals.jsonl, failures (bad input) to OUT/failures.jsonl.

    Example: datagen corrupt shapes/ --types position,rotation,broken,swapped,missing --per-shape 1 --seed 0 --out corrupted/
    """
    from datagen.corrupt import broken, missing, position, rotation
    from datagen.corrupt.checks import Thresholds
    from datagen.corrupt.run import corrupt_library

    kinds = tuple(t.strip() for t in types.split(",") if t.strip())
    bad = [t for t in kinds if t not in TYPES]
    if bad or not kinds:
        raise click.BadParameter(f"unknown type(s) {bad}; expected some of {', '.join(TYPES)}", param_hint="--types")
    try:
        p_lo, p_hi = _floats("--position-range", position_range)
        a_lo, a_hi = _floats("--angle-range", angle_range)
        r_lo, r_hi = _floats("--removed-range", removed_range)
        params = {
            "position": position.Params(min_rel=p_lo, max_rel=p_hi),
            "rotation": rotation.Params(min_deg=a_lo, max_deg=a_hi),
            "broken": broken.Params(min_fraction=r_lo, max_fraction=r_hi),
            "missing": missing.Params(min_area_fraction=missing_min_area),
        }
        thresholds = Thresholds(
            min_displacement=min_displacement, min_angle_deg=min_angle, min_removed_fraction=min_removed,
            min_chamfer=min_chamfer,
        )
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if max_faces is not None and max_faces <= 0:
        raise click.BadParameter("must be > 0", param_hint="--max-faces")
    summary = corrupt_library(
        shapes_root, out, types=kinds, per_shape=per_shape, seed=seed, params=params, thresholds=thresholds,
        max_faces=max_faces, attempts=attempts, progress=progress,
    )
    click.echo(summary.line())
