"""``datagen train cmt|query-only|oddoneout`` and ``datagen evaluate``: thin wrappers over trainer.fit / trainer.evaluate.

The one training command line: ``torchrun`` launches it too for DDP
(``torchrun --nproc-per-node 4 -m datagen.cli train cmt ...``). torch is imported only when a
command runs, so ``datagen --help`` works without it.
"""

from __future__ import annotations

import json
import os

import click


def _common(f):
    opts = [
        click.option("--data", required=True, type=click.Path(exists=True, file_okay=False), help="Dataset root (format v1)."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder (checkpoints, log.csv, tb/)."),
        click.option("--epochs", default=20, show_default=True),
        click.option("--batch-size", default=8, show_default=True, help="Per process (GPU)."),
        click.option("--resolution", default=256, show_default=True, help="Query / reference size in pixels (multiple of 32)."),
        click.option("--lr", type=float, default=None, help="Learning rate (default: CMT 2e-5 as the paper; Odd-One-Out 3e-4)."),
        click.option("--optimizer", type=click.Choice(["adam", "adamw"]), default="adam", show_default=True),
        click.option("--weight-decay", default=0.0, show_default=True),
        click.option("--amp", type=click.Choice(["auto", "bf16", "none"]), default="auto", show_default=True,
                     help="auto = bf16 autocast on CUDA, fp32 on CPU."),
        click.option("--clip", default=1.0, show_default=True, help="Gradient-norm clipping (0 = off)."),
        click.option("--workers", type=click.IntRange(0), default=None,
                     help="DataLoader workers (default: the machine's CPUs, at most 4)."),
        click.option("--seed", default=0, show_default=True),
        click.option("--pretrained", type=click.Path(exists=True, dir_okay=False), default=None, help="Local ResNet-18 weights."),
        click.option("--compile", "compile_", is_flag=True, help="torch.compile the model."),
        click.option("--resume", type=click.Path(exists=True), default=None, help="Checkpoint or run folder to resume."),
        click.option("--val-split", default="val", show_default=True, help="'none' to skip validation."),
        click.option("--max-steps", default=0, help="Stop after this many steps (0 = no limit)."),
        click.option("--log-every", default=10, show_default=True, help="Log the loss every N steps."),
        click.option("--model-arg", multiple=True, metavar="KEY=VALUE", help="Model config field, e.g. width=32."),
        click.option("--no-augment", is_flag=True, help="No flip / random crop (for overfitting checks)."),
        click.option("--no-tensorboard", is_flag=True),
        click.option("--no-progress", is_flag=True),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _key_values(texts, option: str) -> dict:
    import yaml

    out = {}
    for s in texts:
        if "=" not in s:
            raise click.BadParameter(f"expected KEY=VALUE, got {s!r}", param_hint=option)
        k, v = s.split("=", 1)
        out[k.strip().replace("-", "_")] = yaml.safe_load(v)
    return out


def _config(model: str, kw: dict, extra_args: dict, task_args: dict | None = None, lr: float = 2e-5):
    from trainer.fit import TrainConfig

    model_args = _key_values(kw.pop("model_arg"), "--model-arg")
    model_args.update(extra_args)
    if kw.pop("box_head", False):
        model_args["box_head"] = True
    if kw["lr"] is None:
        kw["lr"] = lr
    pretrained = kw.pop("pretrained")
    if pretrained:
        model_args["pretrained"] = pretrained
    kw["compile"] = kw.pop("compile_")
    kw["tensorboard"] = not kw.pop("no_tensorboard")
    kw["progress"] = not kw.pop("no_progress")
    kw["augment"] = not kw.pop("no_augment")
    if kw["val_split"] in ("", "none"):
        kw["val_split"] = None
    return TrainConfig(model=model, model_args=model_args, task_args=task_args or {}, **kw)


def _report(result: dict) -> None:
    """Print the run's summary once (rank 0 under torchrun)."""
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "val"}))


@click.group()
def train():
    """Train CMT or the query-only baseline on a dataset (multi-GPU: torchrun --nproc-per-node N -m datagen.cli train ...)."""


@train.command("cmt")
@_common
@click.option("--box-head", is_flag=True, help="Add the box-regression head (L1 + GIoU).")
@click.option("--views", default=10, show_default=True, help="Reference views per training sample.")
@click.option("--eval-views", default=20, show_default=True, help="Reference views for validation.")
@click.option("--no-topk", is_flag=True, help="Ablation: dense cross-attention.")
@click.option("--no-vlfa", is_flag=True, help="Ablation: no VLFA contrastive losses.")
@click.option("--no-3dpe", is_flag=True, help="Ablation: no 3D positional encoding.")
@click.option("--raw-vlfa", is_flag=True, help="VLFA terms as in the paper's code, not divided by ln(candidates).")
@click.option("--topk", default=100, show_default=True)
def cmt(no_topk, no_vlfa, no_3dpe, raw_vlfa, topk, **kw):
    """CMT: the query attends to reference views (3DPE, top-k cross-attention, VLFA)."""
    from trainer.fit import train as run

    extra = {"topk": 0 if no_topk else topk}
    if no_3dpe:
        extra["pe3d"] = False
    cfg = _config("cmt", kw, extra)
    cfg.vlfa = not no_vlfa
    cfg.vlfa_norm = not raw_vlfa
    _report(run(cfg))


@train.command("query-only")
@_common
@click.option("--box-head", is_flag=True, help="Add the box-regression head (L1 + GIoU).")
def query_only(**kw):
    """Baseline: ResNet-18 + FPN on the query image alone."""
    from trainer.fit import train as run

    cfg = _config("query_only", kw, {})
    cfg.views = cfg.eval_views = 0
    _report(run(cfg))


@train.command("oddoneout")
@_common
@click.option("--views", default=5, show_default=True, help="Input views per scene (as many held-out views supervise the rendering).")
@click.option("--gt-instances", is_flag=True, help="Ablation: train and select the checkpoint on ground-truth instances.")
@click.option("--pred-instances", is_flag=True, help="Train the classifier on instances clustered from the density.")
@click.option("--teacher", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local DINOv2 ViT-S/14 weights (dinov2_vits14_pretrain.pth) for the feature distillation.")
@click.option("--task-arg", multiple=True, metavar="KEY=VALUE", help="Odd-One-Out training option, e.g. rays_per_view=1024.")
def oddoneout(views, gt_instances, pred_instances, teacher, task_arg, **kw):
    """The Odd-One-Out model on scenes: voxel features from the views, rendering losses, cross-instance top-k attention."""
    from trainer.fit import train as run

    if gt_instances and pred_instances:
        raise click.UsageError("--gt-instances and --pred-instances exclude each other")
    task_args = _key_values(task_arg, "--task-arg")
    if pred_instances:
        task_args["train_instances"] = "pred"
    if teacher:
        task_args["teacher"] = teacher
    cfg = _config("oddoneout", kw, {"feat_dim": 384} if teacher else {}, task_args, lr=3e-4)
    cfg.views, cfg.eval_views, cfg.gt_instances, cfg.channels_last = views, views, gt_instances, False
    _report(run(cfg))


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True,
              help="Split to score; on scenes, test also takes seen-test and unseen-test (ToysAD), each scored on its own too.")
@click.option("--views", type=click.IntRange(1), default=None,
              help="CMT: reference views (the first N regular ones; default 20). Odd-One-Out: input views (default: training's).")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=None, help="DataLoader workers (default: the machine's CPUs, at most 4).")
@click.option("--device", default="auto", show_default=True)
@click.option("--amp", type=click.Choice(["bf16", "none"]), default="none", show_default=True)
def evaluate(run, data, split, views, batch_size, workers, device, amp):
    """Evaluate a run folder or checkpoint: AUROC, accuracy, per-type accuracy (box AP@0.5 with a box head);
    Odd-One-Out: object-level AUROC and accuracy, also with ground-truth instances, per split and per type.
    Writes RUN/eval_<split>_v<views>.json and ..._predictions.csv; the same command gives the same output."""
    from trainer.evaluate import evaluate as ev
    from trainer.evaluate import format_table

    click.echo(format_table(ev(run, data, split, views, batch_size, workers, device, amp)))
