"""Training loop, run by ``datagen train cmt|query-only`` (and, for DDP, by
``torchrun --nproc-per-node N -m datagen.cli train ...``).

Reads top to bottom: config -> distributed setup -> data -> model -> optimizer -> (resume) -> epochs
of steps (bf16 autocast, gradient clipping, CSV/TensorBoard logs) -> checkpoint + validation per epoch.
A checkpoint keeps the model name and constructor args and the whole config, so ``--resume`` (or
``trainer.evaluate``) rebuilds the model without any other input. Multi-GPU: under torchrun
(WORLD_SIZE > 1) it joins the process group from env:// and shards data with DistributedSampler;
only rank 0 writes files.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from trainer.models import build_model
from trainer.runtime import (  # noqa: F401 - TrainConfig: trainer.fit.TrainConfig is the public name too
    TrainConfig,
    autocast,
    cpu_threads,
    default_workers,
    load_checkpoint,
    resolve_amp,
    save_checkpoint,
    seed_everything,
    setup_distributed,
    to_device,
    worker_init,
)
from trainer.tasks import task_for


class EpochSampler(Sampler):
    """Yields (epoch, index) so that workers (even persistent ones) know the epoch for augmentation."""

    def __init__(self, base: DistributedSampler):
        self.base = base
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def __iter__(self):
        return ((self.epoch, i) for i in self.base)

    def __len__(self) -> int:
        return len(self.base)


class _Subset(torch.utils.data.Dataset):
    """A fixed subset of a dataset that keeps ``set_epoch``."""

    def __init__(self, ds, keep):
        self.ds, self.keep = ds, [int(i) for i in keep]

    def set_epoch(self, epoch: int) -> None:
        self.ds.set_epoch(epoch)

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        return self.ds[self.keep[i]]

    @property
    def labels(self):
        return self.ds.labels[self.keep]


def train_subset(ds, share: float, seed: int):
    """``ds`` itself (share >= 1) or a seeded ``share`` of its items (at least one)."""
    if share >= 1:
        return ds
    if not 0 < share:
        raise ValueError(f"train_share must be in (0, 1], got {share}")
    from datagen.seeding import rng_for

    n = max(1, int(round(len(ds) * share)))
    return _Subset(ds, sorted(rng_for(seed, "train_share").permutation(len(ds))[:n].tolist()))


class _EpochDataset(torch.utils.data.Dataset):
    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, key):
        epoch, i = key
        self.ds.set_epoch(epoch)
        return self.ds[i]


def mean_over_ranks(values: dict, world: int, device) -> dict:
    """The mean of each float over the DDP processes (what a log row should show), or ``values`` alone."""
    if world <= 1:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t.tolist())}


def lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant" or total <= cfg.warmup_steps:
        return cfg.lr
    t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    raise ValueError(f"optimizer must be adam or adamw, got {cfg.optimizer!r}")


class Logger:
    """CSV (always) + TensorBoard (if importable and enabled) scalars, rank 0 only."""

    def __init__(self, out: Path, tensorboard: bool, enabled: bool):
        self.enabled = enabled
        self.path = out / "log.csv"
        self.tb = None
        self.fields: list[str] | None = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tb"))
            except Exception:  # tensorboard is optional
                self.tb = None

    def log(self, row: dict) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        if self.fields is None:
            self.fields = list(row) if new else next(csv.reader(self.path.open()))
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("epoch", "step") and isinstance(v, (int, float)):
                    self.tb.add_scalar(f"train/{k}", v, row["step"])

    def scalars(self, prefix: str, values: dict, step: int) -> None:
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(f"{prefix}/{k}", v, step)

    def close(self):
        if self.tb is not None:
            self.tb.close()


def train(cfg: TrainConfig) -> dict:
    """Train; returns {"out", "epochs", "epochs_done", "steps", "last_loss", "train_items", "samples_per_s",
    "val": last validation metrics}."""
    rank, world, device = setup_distributed(cfg.device)
    main_proc = rank == 0
    out = Path(cfg.out)
    ckpt = None
    if cfg.resume:
        ckpt = load_checkpoint(cfg.resume)  # weights_only=True: nothing from the file runs
        args = dict(ckpt["model_args"])
        if "pretrained" in args:
            args["pretrained"] = None  # the weights come from the checkpoint
        cfg = dataclasses.replace(cfg, model=ckpt["model_name"], model_args=args)
    if main_proc:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    seed_everything(cfg.seed)
    task = task_for(cfg.model)
    model = build_model(cfg.model, **cfg.model_args)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
    if world > 1 and device.type == "cuda":  # BatchNorm statistics over every process's batch
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    if cfg.channels_last and task.channels_last:
        model.to(memory_format=torch.channels_last)

    workers = default_workers(device=device) if cfg.workers is None else cfg.workers
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(workers))
    ds = train_subset(task.dataset(cfg, model, cfg.train_split, train=True), cfg.train_share, cfg.seed)
    sampler = EpochSampler(DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed, drop_last=False))
    loader = DataLoader(_EpochDataset(ds), batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                        worker_init_fn=worker_init,
                        collate_fn=task.collate, pin_memory=device.type == "cuda", persistent_workers=workers > 0,
                        drop_last=len(ds) >= 4 * cfg.batch_size * world)
    val_loader = None
    if cfg.val_split and main_proc:
        try:
            vds = task.dataset(cfg, model, cfg.val_split, train=False)
            val_loader = DataLoader(vds, batch_size=cfg.batch_size, shuffle=False, num_workers=workers,
                                    worker_init_fn=worker_init, collate_fn=task.collate)
        except Exception as e:  # no val split: train without validation
            print(f"validation off: {e}")

    optimizer = make_optimizer(cfg, model)
    start_epoch, step = 0, 0
    if ckpt is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
        torch.set_rng_state(ckpt["torch_rng"])
    net = task.train_module(cfg, model, ds)  # batch -> (loss, logs) in one forward call
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                        find_unused_parameters=task.find_unused(cfg, model))
    if cfg.compile and cfg.model != "oddoneout":  # (the Odd-One-Out task compiles its dense part itself)
        net = torch.compile(net)
    select = task.select(cfg)
    total_steps = cfg.epochs * len(loader)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    logger = Logger(out, cfg.tensorboard, main_proc)
    last_loss, val = float("nan"), {}
    best = -1.0
    t_start, seen_total, epochs_done = time.perf_counter(), 0, 0.0

    def stop() -> bool:
        """max_steps reached, or max_minutes spent (the same answer on every DDP process)."""
        if cfg.max_steps and step >= cfg.max_steps:
            return True
        if not cfg.max_minutes:
            return False
        late = torch.tensor(float(time.perf_counter() - t_start > 60 * cfg.max_minutes), device=device)
        if world > 1:
            dist.all_reduce(late, op=dist.ReduceOp.MAX)
        return bool(late.item())

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    for epoch in range(start_epoch, cfg.epochs):
        if stop():
            break
        sampler.set_epoch(epoch)
        model.train()
        it = loader
        if tqdm is not None and main_proc and cfg.progress:
            it = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
        t0 = time.perf_counter()
        seen = 0
        i_batch = -1
        for i_batch, batch in enumerate(it):
            if stop():
                break
            batch = to_device(batch, device, cfg.channels_last and task.channels_last)
            for g in optimizer.param_groups:
                g["lr"] = lr_at(cfg, step, total_steps)
            with autocast(device, cfg.amp):
                loss, parts = net(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip if cfg.clip > 0 else float("inf"))
            optimizer.step()
            step += 1
            seen += task.batch_size(batch) * world
            seen_total += task.batch_size(batch) * world
            if step % cfg.log_every == 0 or step == 1:
                vals = mean_over_ranks({k: float(v) for k, v in parts.items()}, world, device)
                last_loss = vals["loss"]
                row = {"epoch": epoch + 1, "step": step, "lr": optimizer.param_groups[0]["lr"], "grad_norm": float(gnorm), **vals,
                       "samples_per_s": seen / max(time.perf_counter() - t0, 1e-9)}
                logger.log(row)
                if hasattr(it, "set_postfix"):
                    it.set_postfix(loss=f"{last_loss:.4f}")
        epochs_done = epoch + min(1.0, (i_batch + 1) / max(1, len(loader)))
        if main_proc:
            if val_loader is not None:
                val = task.evaluate(cfg, model, val_loader, device, resolve_amp(cfg.amp, device))["metrics"]
                logger.scalars("val", {k: v for k, v in val.items() if k != "per_type"}, step)
                with (out / "metrics.jsonl").open("a") as f:
                    f.write(json.dumps({"epoch": epoch + 1, "step": step, **val}) + "\n")
            save_checkpoint(out / "last.pt", model, optimizer, cfg, epoch + 1, step, val)
            if cfg.keep_checkpoints:
                save_checkpoint(out / f"epoch_{epoch + 1:03d}.pt", model, optimizer, cfg, epoch + 1, step, val)
            score = val.get(select, float("nan")) if val else float("nan")
            if math.isfinite(score) and score > best:
                best = score
                save_checkpoint(out / "best.pt", model, optimizer, cfg, epoch + 1, step, val)
            print(f"epoch {epoch + 1}/{cfg.epochs} step {step} loss {last_loss:.4f}"
                  + (f" val {select} {val.get(select, float('nan')):.4f} acc {val.get('accuracy', float('nan')):.4f}" if val else ""))
        if world > 1:
            dist.barrier()
    logger.close()
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()
    secs = time.perf_counter() - t_start
    return {"out": str(out), "epochs": cfg.epochs, "epochs_done": round(epochs_done, 3), "steps": step,
            "last_loss": last_loss, "train_items": len(ds), "samples_per_s": round(seen_total / max(secs, 1e-9), 2),
            "val": val}
