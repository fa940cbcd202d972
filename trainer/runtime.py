"""What training and evaluation share: devices and processes, mixed precision, checkpoints.

A checkpoint keeps the model name and constructor args and the whole training config, so
``load_model`` (and ``--resume``) rebuilds the model without any other input.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from trainer.models import build_model


def default_workers(limit: int = 4) -> int:
    """DataLoader workers for this machine: the CPUs this process may use, at most ``limit``."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(0, min(limit, n))


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
    state = {
        "model_name": cfg.model,
        "model_args": model.args,
        "config": asdict(cfg),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,  # epochs completed
        "step": step,
        "metrics": metrics or {},
        "torch_rng": torch.get_rng_state(),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_model(checkpoint: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a model from a checkpoint (file or run folder -> last.pt). Returns (model in eval mode, checkpoint dict)."""
    ck = torch.load(resolve_checkpoint(checkpoint), map_location="cpu", weights_only=False)
    args = dict(ck["model_args"], pretrained=None) if "pretrained" in ck["model_args"] else ck["model_args"]
    model = build_model(ck["model_name"], **args)
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), ck
