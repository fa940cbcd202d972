"""Model registry: a plain dict from name to "module:Class" (imported on first use). ``build_model(name, **args)``."""

from __future__ import annotations

import importlib

from torch import nn

from trainer.models.cmt import CMT, CMTConfig
from trainer.models.query_only import QueryOnly, QueryOnlyConfig
from trainer.models.resnet_fpn import ResNet18FPN, load_backbone_weights

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


__all__ = ["CMT", "CMTConfig", "MODELS", "QueryOnly", "QueryOnlyConfig", "ResNet18FPN", "build_model", "load_backbone_weights"]
