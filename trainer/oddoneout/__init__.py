"""Odd-One-Out (CVPR 2025): multi-view scenes -> voxel volumes -> which object is the odd one out.

Modules, by responsibility:
  geometry   voxel grid, projection, back-projection of image features, pixel rays
  render     differentiable volume rendering (colour, silhouette, depth, detached-weight features)
  unet3d     the 3D encoder-decoder
  attention  cross-instance top-k attention and the per-instance classifier
  model      OddOneOutConfig (the paper's defaults) and OddOneOut
  teacher    the frozen DINOv2 ViT-S/14 teacher (official checkpoint key layout), tiny test variant
  instances  3D boxes, IoU and matching, DBSCAN instances from the density, RoI pooling
  data       SceneDataset over format-v1 scenes and its collate
  losses     rendering, feature and classification losses
  metrics    object-level AUROC / accuracy with predicted and ground-truth instances
  task       the interface of the shared fit loop: build_model, make_dataset, collate, loss_step, evaluate
"""

from trainer.oddoneout.data import SceneDataset, collate
from trainer.oddoneout.geometry import GridSpec
from trainer.oddoneout.model import OddOneOut, OddOneOutConfig
from trainer.oddoneout.task import TaskConfig, build_model, evaluate, loss_step, make_dataset, task_config
from trainer.oddoneout.teacher import load_teacher

__all__ = [
    "GridSpec",
    "OddOneOut",
    "OddOneOutConfig",
    "SceneDataset",
    "TaskConfig",
    "build_model",
    "collate",
    "evaluate",
    "load_teacher",
    "loss_step",
    "make_dataset",
    "task_config",
]
