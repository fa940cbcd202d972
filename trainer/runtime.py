"""What training and evaluation share: devices and processes, mixed precision, checkpoints.

A checkpoint keeps the model name and constructor args and the whole training config, so
``load_model`` (and ``--resume``) rebuilds the model without any other input. It holds tensors and
plain data only and is read with ``torch.load(weights_only=True)`` (``trainer.checkpoint_io``).
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from trainer.checkpoint_io import load_weights_only, plain
from trainer.models import build_model


@dataclass
class TrainConfig:
    model: str = "cmt"  # cmt | query_only | oddoneout
    data: str = ""
    out: str = "runs/cmt"
    epochs: int = 20
    views: int = 10  # reference views per training item (the paper: 10; test: all 20)
    eval_views: int = 20
    batch_size: int = 8  # per process
    resolution: int = 256
    lr: float = 2e-5  # the paper: Adam, 2e-5
    optimizer: str = "adam"  # adam | adamw
    weight_decay: float = 0.0
    schedule: str = "cosine"  # cosine | constant
    warmup_steps: int = 0
    clip: float = 1.0  # gradient-norm clipping (0 = off)
    amp: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU, where bf16 is emulated and slow) | bf16 | none
    channels_last: bool = True
    compile: bool = False
    workers: int | None = None  # DataLoader workers (None = the machine's CPUs, at most 4)
    seed: int = 0
    augment: bool = True  # horizontal flip + random crop (224/256 of the side) resized back
    crop_fraction: float = 224 / 256
    vlfa: bool = True
    vlfa_norm: bool = True  # each VLFA term / ln(its candidates): on BCE's scale (trainer/losses.py)
    w_qv: float = 0.5
    w_vv: float = 0.5
    tau: float = 0.1
    model_args: dict = field(default_factory=dict)  # e.g. {"topk": 0, "pe3d": False, "box_head": True, "width": 8}
    task_args: dict = field(default_factory=dict)  # oddoneout: trainer.oddoneout.task.TaskConfig fields (teacher, weights, ...)
    gt_instances: bool = False  # oddoneout ablation: best.pt by the AUROC on ground-truth instances
    train_split: str = "train"
    val_split: str | None = "val"
    max_steps: int = 0  # stop after this many steps in total (0 = no limit)
    max_minutes: float = 0.0  # stop after this much wall time of training (0 = no limit); the schedule assumes the epochs
    train_share: float = 1.0  # train on this share of the training items (a seeded subset; learning curves)
    balance: bool = True  # weight the anomalous class by n_normal / n_anomalous in the BCE (Looking 3D models)
    log_every: int = 10
    keep_checkpoints: bool = False  # also keep epoch_NNN.pt
    resume: str | None = None  # a checkpoint file, or a run folder (its last.pt)
    tensorboard: bool = True
    progress: bool = True
    device: str = "auto"  # auto | cpu | cuda | cuda:N


def usable_cpus() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(limit: int = 4, device: str | torch.device = "cuda") -> int:
    """DataLoader workers for this machine. With a GPU: the CPUs, at most ``limit``. On the CPU the
    model needs the cores too: half of them (at least 1), so that workers and the training threads
    (``cpu_threads``) never ask for more cores than there are (oversubscription costs system time)."""
    n = usable_cpus()
    if torch.device(device).type == "cpu":
        return max(1, min(limit, n // 2))
    return max(0, min(limit, n))


def cpu_threads(workers: int) -> int:
    """Intra-op threads of a CPU training process running ``workers`` DataLoader workers."""
    return max(1, usable_cpus() - workers)


def worker_init(_worker_id: int) -> None:
    """DataLoader workers: one BLAS / OpenMP thread each (numpy's pool would otherwise claim every core)."""
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # legacy global state, only for third-party code; ours takes explicit rngs
    torch.manual_seed(seed)


def setup_distributed(device_opt: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device). Joins the process group when WORLD_SIZE > 1 (torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_opt == "auto":
        device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(device_opt)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://")
    return rank, world, device


def to_device(batch: dict, device: torch.device, channels_last: bool = False) -> dict:
    out = {}
    for k, v in batch.items():
        if torch.is_tensor(v):
            v = v.to(device, non_blocking=True)
            if channels_last and k == "query":
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def resolve_amp(amp: str, device: torch.device) -> str:
    if amp not in ("auto", "bf16", "none"):
        raise ValueError(f"amp must be auto, bf16 or none, got {amp!r}")
    if amp == "auto":
        return "bf16" if device.type == "cuda" else "none"
    return amp


def autocast(device: torch.device, amp: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=(resolve_amp(amp, device) == "bf16"))


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / "last.pt"
    if not p.is_file():
        from datagen.errors import InputError

        raise InputError(p, "checkpoint not found")
    return p


def save_checkpoint(path: Path, model, optimizer, cfg, epoch: int, step: int, metrics: dict | None = None) -> None:
    """Write a checkpoint (atomic) that ``load_checkpoint`` reads with ``weights_only=True``: the state
    dicts as they are, everything else as plain data (``trainer.checkpoint_io.plain``: the config
    dataclass as a dict, numpy values as Python numbers / tensors, paths as str)."""
    state = {
        "model_name": str(cfg.model),
        "model_args": plain(model.args, "model_args"),
        "config": plain(asdict(cfg), "config"),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": int(epoch),  # epochs completed
        "step": int(step),
        "metrics": plain(metrics or {}, "metrics"),
        "torch_rng": torch.get_rng_state(),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(checkpoint: str | os.PathLike) -> dict:
    """The dict of a checkpoint (file, or run folder -> last.pt), on the CPU, read with
    ``weights_only=True`` (nothing from the file runs). ``InputError`` (one line) when it is missing,
    unreadable or holds any other object."""
    return load_weights_only(resolve_checkpoint(checkpoint), "checkpoint")


def load_model(checkpoint: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a model from a checkpoint (file or run folder -> last.pt). Returns (model in eval mode, checkpoint dict)."""
    ck = load_checkpoint(checkpoint)
    args = dict(ck["model_args"], pretrained=None) if "pretrained" in ck["model_args"] else ck["model_args"]
    model = build_model(ck["model_name"], **args)
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), ck
