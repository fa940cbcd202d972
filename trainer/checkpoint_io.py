"""Checkpoints and weight files as plain data, read without running code from the file.

``torch.load(weights_only=False)`` unpickles anything, so a crafted ``.pt`` runs arbitrary code.
Every file the trainer writes (``trainer.runtime.save_checkpoint``: CMT, query-only, Odd-One-Out;
``trainer.oddoneout.teacher.save_vit``) holds only tensors and plain data (``plain``), and every
file it reads (checkpoints, ``--resume``, ``pretrained`` backbones, the DINOv2 teacher) goes through
``load_weights_only``: ``torch.load(weights_only=True)``, which rebuilds tensors, dicts, lists,
tuples, sets, str, numbers, bool, None and torch's own types and refuses any other object before
calling it. A refused or unreadable file is ``InputError(path, problem)``, one line.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
from pathlib import Path, PurePath

import numpy as np
import torch

from datagen.errors import InputError

_LEAVES = (torch.Tensor, torch.dtype, torch.device, torch.Size, str, bytes, int, float, bool, complex, type(None))


def plain(obj, where: str = "checkpoint"):
    """``obj`` as what ``torch.load(weights_only=True)`` reads back: dataclasses -> dicts
    (``dataclasses.asdict``), numpy arrays -> tensors, numpy scalars -> Python numbers, paths -> str;
    dicts (-> plain dicts), lists, tuples and sets are walked. Model and optimizer state dicts are
    plain already: save them as they are (their ``_metadata`` stays). Raises ``TypeError`` (naming ``where``) for anything else,
    so a checkpoint that could not be loaded is never written."""
    if isinstance(obj, np.generic):  # before the leaves: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, _LEAVES):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj), where)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dict):
        return {plain(k, where): plain(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        kind = set if isinstance(obj, (set, frozenset)) else tuple if type(obj) is tuple else list  # namedtuple -> list
        return kind(plain(v, f"{where}[{i}]") for i, v in enumerate(obj))
    raise TypeError(f"{where}: {type(obj).__module__}.{type(obj).__qualname__} is not plain data "
                    "(tensors, numbers, str, lists, tuples, dicts); a checkpoint must load with weights_only=True")


def load_weights_only(path: str | os.PathLike, what: str = "checkpoint"):
    """``torch.load(path, map_location="cpu", weights_only=True)``: tensors and plain data only, nothing
    from the file is run. Raises ``InputError(path, problem)`` (one line) when the file is missing,
    unreadable, or asks for another object (``what`` names the file's role in the message)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, f"{what} not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL\s+([\w.]+)", str(e))
        asks = f"asks for {m.group(1)}" if m else "holds objects other than tensors and plain data"
        raise InputError(p, f"{what} refused: the file {asks}; only tensors and plain data are loaded "
                            "(weights_only=True), nothing from it was run") from None
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file is the same user error
        msg = " ".join(str(e).split())[:300] or type(e).__name__
        raise InputError(p, f"cannot read the {what}: {type(e).__name__}: {msg}") from None
