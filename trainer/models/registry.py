"""Model registry: a plain dict from name to "module:Class", the class imported on first use
(so a model's dependencies load only when it is built). ``build_model(name, **args)``."""

from __future__ import annotations

import importlib

from torch import nn

MODELS: dict[str, str] = {
    "cmt": "trainer.models.cmt:CMT",
    "query_only": "trainer.models.query_only:QueryOnly",
    "oddoneout": "trainer.oddoneout.model:OddOneOut",
}


def build_model(name: str, **args) -> nn.Module:
    """A model from the registry; ``args`` are its config fields (see CMTConfig, QueryOnlyConfig, OddOneOutConfig)."""
    key = name.replace("-", "_")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    module, cls = MODELS[key].split(":")
    return getattr(importlib.import_module(module), cls)(**args)
