"""The trainer's models, one family per module (``cmt``, ``query_only``, ``resnet_fpn``: the
image backbone), and ``registry``: ``build_model(name, **args)`` over the ``MODELS`` dict."""

from trainer.models.cmt import CMT, CMTConfig
from trainer.models.query_only import QueryOnly, QueryOnlyConfig
from trainer.models.registry import MODELS, build_model
from trainer.models.resnet_fpn import ResNet18FPN, load_backbone_weights

__all__ = ["CMT", "CMTConfig", "MODELS", "QueryOnly", "QueryOnlyConfig", "ResNet18FPN", "build_model", "load_backbone_weights"]
