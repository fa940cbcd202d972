"""``datagen validate``: generate (or take) a dataset, train query-only, CMT and its ablations within
a time budget, evaluate on unseen shapes, write a report (``trainer.validate``)."""

from __future__ import annotations

import click

from trainer.validate import DIFFICULTIES


@click.command("validate")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report folder (dataset in OUT/ds, runs in OUT/runs).")
@click.option("--budget-minutes", type=click.FloatRange(min=1), default=90, show_default=True, help="Wall clock for everything.")
@click.option("--shapes", type=click.Path(exists=True, file_okay=False), default=None, help="Shape library (default: procedural chairs).")
@click.option("--data", type=click.Path(exists=True, file_okay=False), default=None, help="An existing dataset (no generation).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--kind", type=click.Choice(["looking3d", "oddoneout"]), default="looking3d", show_default=True,
              help="looking3d: query samples, query-only vs CMT; oddoneout: scenes, the Odd-One-Out model.")
@click.option("--preset", type=click.Choice(["toysad", "partsad"]), default="toysad", show_default=True,
              help="The scenes preset (--kind oddoneout).")
@click.option("--difficulty", type=click.Choice(DIFFICULTIES), default="default", show_default=True,
              help="medium = every type, >= 150 anomalous px at 96 px; easy = positive control: large missing / "
                   "rotation / position anomalies only.")
@click.option("--gpu", is_flag=True, help="The GPU setting: 128 px, wider models, more views, larger batches.")
@click.option("--runs", default=None, help="Comma-separated runs (default: query_only,cmt,cmt_no3dpe,cmt_novlfa,cmt_dense).")
@click.option("--curve", default="0.1,0.3", show_default=True, help="Shares of the training queries for the learning curve ('' = none).")
@click.option("--workers", type=click.IntRange(1), default=None, help="Render workers (default: the CPU count).")
@click.option("--quiet", is_flag=True)
def validate(out, budget_minutes, shapes, data, seed, kind, preset, difficulty, gpu, runs, curve, workers, quiet):
    """Does a model learn from this benchmark? One command, a fixed budget, a report.

    Example: datagen validate --out val/ --budget-minutes 90
    (or: datagen validate --kind oddoneout --preset toysad --out val_scenes/ --budget-minutes 60)
    """
    if kind == "oddoneout":
        from trainer.validate_scenes import SceneValidateConfig, validate_scenes

        kw = dict(out=out, budget_minutes=budget_minutes, preset=preset, shapes=shapes, data=data, seed=seed,
                  workers=workers)
        if gpu:
            kw.update(device="cuda", resolution=256, views=20, samples=64, batch_size=4, model_args={})
        if runs:
            kw["runs"] = tuple(r.strip() for r in runs.split(","))
        report = validate_scenes(SceneValidateConfig(**kw), progress=not quiet)
        click.echo(f"report: {out}/report.md ({report['seconds'] / 60:.1f} min)")
        for r in report["runs"]:
            for split, m in r["tests"].items():
                click.echo(f"  {r['name']:<15} {split:<12} AUROC {100 * (m['auroc'] or 0):.1f}  (GT instances "
                           f"{100 * (m['auroc_gt'] or 0):.1f})")
        return
    from trainer.validate import RUNS, ValidateConfig
    from trainer.validate import validate as run

    kw = dict(out=out, budget_minutes=budget_minutes, shapes=shapes, data=data, seed=seed, difficulty=difficulty,
              workers=workers, curve=tuple(float(x) for x in curve.split(",") if x.strip()),
              runs=tuple(r.strip() for r in runs.split(",")) if runs else tuple(RUNS))
    if gpu:
        kw.update(device="cuda", resolution=128, width=64, views=6, eval_views=12, batch_size=64, max_shapes=5000)
    try:
        vc = ValidateConfig(**kw)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    report = run(vc, progress=not quiet)
    click.echo(f"report: {out}/report.md ({report['seconds'] / 60:.1f} min)")
    for r in report["runs"]:
        a = r["test"]["auroc"]
        click.echo(f"  {r['name']:<12} {r['share']:>5.0%}  test AUROC {100 * a:.1f}" if a is not None else f"  {r['name']}: -")
