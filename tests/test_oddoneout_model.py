import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from trainer.oddoneout import OddOneOutConfig, TaskConfig, build_model, collate, evaluate, loss_step, make_dataset
from trainer.oddoneout.geometry import voxel_centers
from trainer.oddoneout.instances import match_boxes
from trainer.oddoneout.task import predicted_instances
from trainer.oddoneout.teacher import save_vit, tiny_vit

from synth_scenes import make_scenes, one_thread  # noqa: F401 (autouse fixture)

# x, y in [-0.6, 0.6], z in [-0.05, 0.35]: the synthetic scenes fit
TINY = dict(width=8, enc_dim=16, norm="gn", grid_dims=(24, 24, 8), voxel_size=0.05, grid_z_min=-0.05, unet_channels=(8, 16),
            feat_dim=0, roi_source="decoder", n_samples=32, roi_size=4, dim=32, heads=2, blocks=1, topk=16, bp_rgb=True,
            bp_variance=True, density_gain=10.0, min_voxels=2)
TASK = dict(num_views=3, resolution=64, rays_per_view=256, augment=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("ooo_model")
    make_scenes(r, np.random.default_rng(0), scenes=3, views=10, resolution=64)
    return r


@pytest.fixture(scope="module")
def batch(root):
    ds = make_dataset(root, "train", False, TaskConfig(**TASK))
    return collate([ds[i] for i in range(len(ds))])


def test_defaults_are_the_papers():
    c = OddOneOutConfig()
    assert (c.grid_dims, c.voxel_size, c.grid_z_min) == ((96, 96, 16), 0.04, -0.32)
    assert (c.feat_dim, c.roi_size, c.topk, c.near, c.far) == (384, 8, 100, 0.0, 3.84)
    assert TaskConfig().num_views == 5


def test_forward_shapes_backward_and_args_round_trip(batch):
    torch.manual_seed(0)
    m = build_model(**dict(TINY, feat_dim=12, roi_source="both"))
    V = 3
    vols = m(batch["rgb"][:, :V], batch["K"][:, :V], batch["world_to_camera"][:, :V])
    assert vols["sigma"].shape == (3, 1, 8, 24, 24) and vols["sigma"].dtype == torch.float32
    assert vols["color"].shape == (3, 3, 8, 24, 24) and vols["feat"].shape == (3, 12, 8, 24, 24)
    assert vols["decoder"].shape == (3, 8, 8, 24, 24)
    assert (vols["sigma"] >= 0).all() and ((vols["color"] >= 0) & (vols["color"] <= 1)).all()
    logits = m.classify(vols, batch["boxes"], batch["box_mask"])
    assert logits.shape == batch["labels"].shape and torch.isfinite(logits).all()
    loss, logs = loss_step(m, batch, TaskConfig(**TASK))
    loss.backward()
    assert torch.isfinite(loss) and set(logs) >= {"loss", "rgb", "sil", "cls", "psnr"}
    assert m.encoder.conv1.weight.grad is not None and m.density.weight.grad.abs().sum() > 0
    m2 = build_model(**m.args)
    assert m2.state_dict().keys() == m.state_dict().keys()


def test_feature_loss_uses_detached_weights(batch, tmp_path):
    """With only the feature loss, the feature head learns and the density gets no gradient."""
    torch.manual_seed(0)
    path = save_vit(tiny_vit(dim=16, depth=1, patch=8), tmp_path / "teacher.pth")
    m = build_model(**dict(TINY, feat_dim=16, roi_source="both"))
    tc = TaskConfig(**dict(TASK, teacher=str(path), w_rgb=0, w_sil=0, w_cls=0, w_feat=1))
    loss, logs = loss_step(m, batch, tc)
    assert "feat" in logs and 0 < logs["feat"] < 2
    loss.backward()
    assert m.feature.weight.grad.abs().sum() > 0
    assert m.density.weight.grad is None or m.density.weight.grad.abs().sum() == 0
    with pytest.raises(ValueError, match="feat_dim"):
        loss_step(build_model(**dict(TINY, feat_dim=8, roi_source="both")), batch, tc)


def test_dense_part_compiles_without_graph_breaks(batch):
    m = build_model(**TINY).eval()
    inp = (batch["rgb"][:1, :3], batch["K"][:1, :3], batch["world_to_camera"][:1, :3])
    compiled = torch.compile(m, backend="eager", fullgraph=True)
    with torch.no_grad():
        a, b = m(*inp), compiled(*inp)
    torch.testing.assert_close(a["sigma"], b["sigma"])


def test_bf16_autocast_step_is_finite_and_renders_in_fp32(batch):
    torch.manual_seed(0)
    m = build_model(**TINY)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, logs = loss_step(m, batch, TaskConfig(**TASK))
        vols = m(batch["rgb"][:, :3], batch["K"][:, :3], batch["world_to_camera"][:, :3])
        out = m.render(vols, torch.full((3, 3, 5, 2), 32.5), batch["K"][:, 3:], batch["world_to_camera"][:, 3:])
    loss.backward()
    assert math.isfinite(logs["loss"])
    assert out["silhouette"].dtype == out["depth"].dtype == out["rgb"].dtype == torch.float32


def test_predicted_instances_take_the_labels_of_matching_gt_boxes(batch):
    m = build_model(**TINY)
    g = m.grid
    c = voxel_centers(g).numpy().reshape(-1, 3)
    sigma = np.zeros((len(batch["id"]), 1, *g.shape_zyx), np.float32)
    for b in range(len(batch["id"])):
        for box in batch["boxes"][b][batch["box_mask"][b]].numpy():
            q = c - box[:3]
            u = q[:, 0] * math.cos(box[6]) + q[:, 1] * math.sin(box[6])
            v = -q[:, 0] * math.sin(box[6]) + q[:, 1] * math.cos(box[6])
            inside = (np.abs(u) < box[3] / 2) & (np.abs(v) < box[4] / 2) & (np.abs(q[:, 2]) < box[5] / 2)
            sigma[b, 0].reshape(-1)[inside] = 500.0
    pred, boxes, mask, labels = predicted_instances(m, {"sigma": torch.from_numpy(sigma)}, batch, 0.25)
    for b in range(len(pred)):
        gt = batch["boxes"][b][batch["box_mask"][b]].numpy()
        assert len(pred[b]) == len(gt) == int(mask[b].sum())
        p2g, _, _ = match_boxes(pred[b], gt, 0.25)
        assert (p2g >= 0).all()
        assert labels[b, :len(gt)].tolist() == batch["labels"][b][p2g].tolist()


def _train(model, batch, phases):
    for steps, lr, task in phases:
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        tc = TaskConfig(**dict(TASK, **task))
        for _ in range(steps):
            loss, logs = loss_step(model, batch, tc)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return logs


def test_tiny_model_overfits_with_gt_instances(root, batch):
    torch.manual_seed(0)
    m = build_model(**TINY)
    logs = _train(m, batch, [(40, 3e-3, {})])
    assert logs["cls"] < 0.2, logs
    loader = DataLoader(make_dataset(root, "train", False, TaskConfig(**TASK)), batch_size=2, collate_fn=collate)
    res = evaluate(m, loader, "cpu", cfg=TaskConfig(**TASK))
    met = res["metrics"]
    assert met["n_scenes"] == 3 and met["n_objects"] == int(batch["box_mask"].sum())
    assert met["auroc_gt"] > 0.95 and met["accuracy_gt"] > 0.9, met
    assert set(res["per_type"]) >= {"normal"} and len(res["records"]) == met["n_objects"]


@pytest.mark.slow
def test_tiny_model_overfits_with_predicted_instances(root, batch):
    """Stage 1: rendering losses only (the density must find the objects); stage 2: the comparator
    alone (``cls_detach``, no rendering) on instances clustered from the density, labelled by
    matching GT boxes. Scored with predicted instances (misses score 0). Joint training of the
    tiny model in stage 2 is fragile: the classification gradients disturb the density and
    objects get lost (AUROC 0.8 - 1.0 over seeds)."""
    torch.manual_seed(0)
    m = build_model(**TINY)
    _train(m, batch, [(100, 1e-2, dict(w_cls=0, rays_per_view=1024)),
                      (50, 3e-3, dict(train_instances="pred", cls_detach=True, w_rgb=0, w_sil=0))])
    loader = DataLoader(make_dataset(root, "train", False, TaskConfig(**TASK)), batch_size=3, collate_fn=collate)
    met = evaluate(m, loader, "cpu", cfg=TaskConfig(**TASK))["metrics"]
    assert met["recall"] > 0.7 and met["silhouette_iou"] > 0.5, met
    assert met["auroc"] > 0.95, met
