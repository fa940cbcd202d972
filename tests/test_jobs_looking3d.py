"""The Looking 3D job function with an in-process fake renderer (numpy z-buffer), and one real Blender run."""

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from datagen.config import preset
from datagen.dataset.reader import Dataset
from datagen.generate import generate_dataset
from datagen.jobs.looking3d import Looking3DRunner as Runner
from datagen.plan import plan, shard
from datagen.shapes.library import read_shape

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("fake_worker", HERE / "fake_worker.py")
fake_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_worker)


class FakeRenderer:
    """Renders in this process with the fake worker's rasterizer; counts calls."""

    def __init__(self):
        self.calls = 0

    def render(self, spec_path, out_dir):
        self.calls += 1
        return {"ok": True, "views": fake_worker.render(spec_path, out_dir)}


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(3)


def small(**kw):
    base = dict(resolution=64, ref_resolution=48, ref_views=4, min_visible_px=50)
    base.update(kw)
    return preset("demo", **base)


def run_all(runner, jobs, renderer):
    return {j.id: runner.run(j, renderer) for j in jobs}


@pytest.fixture(scope="module")
def dataset(library, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    cfg = small()
    runner = Runner(cfg, library, out, seed=0)
    jobs = plan(cfg, runner.shape_ids, 0)
    results = run_all(runner, jobs, FakeRenderer())
    runner.finalize()
    return out, runner, jobs, results


def test_reference_views(dataset):
    out, runner, jobs, results = dataset
    ds = Dataset(out)
    assert ds.shape_ids() == runner.shape_ids
    ref = ds.reference(runner.shape_ids[0])
    assert ref.images.shape == (4, 48, 48) and ref.depths.shape == (4, 48, 48)
    assert (ref.depths > 0).any() and (ref.images < 250).any()
    cams = ref.cameras
    # elevation 20 deg, distance 2, regular azimuths, aimed at the origin
    for i, cam in enumerate(cams):
        pos = cam.position
        assert np.isclose(np.linalg.norm(pos), 2.0)
        assert np.isclose(np.degrees(np.arcsin(pos[2] / 2.0)), 20.0)
        assert np.isclose(np.arctan2(pos[1], pos[0]) % (2 * np.pi), 2 * np.pi * i / 4)
        uv, _ = cam.project([[0, 0, 0]])
        assert np.allclose(uv, [24, 24])


def test_samples_normal_and_anomalous(dataset):
    out, runner, jobs, results = dataset
    ds = Dataset(out)
    rows = ds.rows()
    assert {r["label"] for r in rows} == {0, 1}
    assert len({r["id"] for r in rows}) == len(rows)
    splits = json.loads((out / "splits.json").read_text())
    for r in rows:
        s = ds.sample(r["id"])
        assert s.rgb.shape == (64, 64, 3) and s.depth.shape == (64, 64) and s.parts.dtype == np.uint16
        assert s.meta["shape_id"] in splits[s.meta["split"]]
        assert s.parts.max() <= len(s.meta["parts"])
        cam = s.camera
        assert np.isclose(np.linalg.norm(cam.position), 2.5)
        el = np.degrees(s.meta["camera"]["elevation"])
        assert 20 <= el <= 40
        assert np.isclose(s.meta["camera"]["azimuth"] / (np.pi / 10), s.meta["camera"]["azimuth_index"])
        # back-projected depth lands on the (original or corrupted) shape: inside its box, near its points
        pts = cam.backproject(s.depth.astype(np.float64))
        pts = pts[np.isfinite(pts[..., 0])]
        shape = read_shape(runner.library / s.meta["shape_id"])
        lo, hi = shape.bounds
        if s.label == 0:
            assert ((pts > lo - 0.02) & (pts < hi + 0.02)).all()
            assert s.mask_new is None and s.bbox is None
        else:
            a = s.meta["anomaly"]
            assert a["type"] in runner.config.types and a["seed"] == next(j.seed for j in jobs if j.id == s.meta["job"])
            assert s.mask_new.sum() >= runner.config.min_visible_pixels
            x1, y1, x2, y2 = s.bbox
            union = s.mask_new if s.mask_old is None else (s.mask_new | s.mask_old)
            ys, xs = np.nonzero(union)
            assert xs.min() == x1 and ys.min() == y1 and xs.max() + 1 == x2 and ys.max() + 1 == y2
            if a["type"] == "missing":
                assert s.mask_old is None
                gone = a["part_index"] + 1
                assert not (s.parts == gone).any()
                assert s.meta["parts"][a["part_index"]].get("missing") is True
            else:
                # mask_new is exactly the anomalous part's pixels in parts.png
                assert np.array_equal(s.mask_new, s.parts == a["part_index"] + 1)
            if a["type"] == "position":
                assert not np.array_equal(s.mask_new, s.mask_old)


def test_every_job_has_a_marker_and_statuses(dataset):
    out, runner, jobs, results = dataset
    for j in jobs:
        m = json.loads(runner.marker_path(j).read_text())
        assert m["status"] == results[j.id].status
    statuses = {r.status for r in results.values()}
    assert "done" in statuses
    # work folders are gone
    assert not any((out / ".work").iterdir())


def test_resume_skips_everything(dataset):
    out, runner, jobs, _ = dataset
    r = FakeRenderer()
    again = Runner(runner.config, runner.library, out, seed=0)
    res = run_all(again, jobs, r)
    assert r.calls == 0 and {x.status for x in res.values()} == {"skipped"}


def test_invisible_anomaly_is_dropped(library, tmp_path):
    cfg = small(min_visible_px=10**6, types=("position", "missing"))
    runner = Runner(cfg, library, tmp_path, seed=0)
    jobs = [j for j in plan(cfg, runner.shape_ids, 0) if j.kind == "anomaly"]
    res = run_all(runner, jobs, FakeRenderer())
    assert {r.status for r in res.values()} <= {"dropped", "refused"}
    assert any(r.status == "dropped" and r.reason == "anomaly not visible" and r.dropped for r in res.values())
    assert not list((tmp_path / "samples").glob("*"))


def test_swapped_without_donors_is_refused(library, tmp_path):
    cfg = small(types=("swapped",))
    runner = Runner(cfg, library, tmp_path, seed=0, shape_ids=["chair_000000"])
    job = next(j for j in plan(cfg, runner.shape_ids, 0) if j.kind == "anomaly")
    r = runner.run(job, FakeRenderer())
    assert r.status == "refused" and "swapped" in r.reason
    assert json.loads(runner.marker_path(job).read_text())["status"] == "refused"


def test_same_dataset_whatever_the_sharding(library, tmp_path):
    cfg = small(types=("rotation", "missing"))
    roots = []
    for n in (1, 2):
        out = tmp_path / f"n{n}"
        runner = Runner(cfg, library, out, seed=5)
        jobs = plan(cfg, runner.shape_ids, 5)
        for i in reversed(range(n)):  # other order too
            run_all(runner, shard(jobs, i, n), FakeRenderer())
        runner.finalize()
        roots.append(out)
    a, b = (sorted(p.name for p in (r / "samples").iterdir()) for r in roots)
    assert a == b and a
    for sid in a:
        for f in ("meta.json", "rgb.png", "parts.png", "depth.npy"):
            assert (roots[0] / "samples" / sid / f).read_bytes() == (roots[1] / "samples" / sid / f).read_bytes()
    assert (roots[0] / "index.jsonl").read_text() == (roots[1] / "index.jsonl").read_text()


def test_generate_dataset_with_fake_worker_subprocess(library, tmp_path):
    from datagen.executors import WorkerOptions

    opts = WorkerOptions(cmd=(sys.executable, str(HERE / "fake_worker.py")), job_timeout=60)
    cfg = small(types=("position",))
    summary, counts = generate_dataset(Runner(cfg, library, tmp_path, 0), workers=2, opts=opts, progress=False)
    assert summary.counts["failed"] == 0 and summary.counts["done"] >= 6
    assert counts["samples"] == summary.outputs and counts["reference_shapes"] == 3
    # a rerun skips everything and starts no worker
    summary2, counts2 = generate_dataset(Runner(cfg, library, tmp_path, 0), workers=2, opts=WorkerOptions(cmd=("false",)),
                                         progress=False)
    assert summary2.counts["skipped"] == sum(summary.counts.values()) and counts2 == counts


# --- the real thing -------------------------------------------------------------------------------
@pytest.mark.blender
def test_end_to_end_blender(library, tmp_path):
    # never import bpy in the test process (pymeshlab, loaded by the corruptions, clashes with it)
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy not installed")
    from datagen.executors import WorkerOptions

    cfg = preset(
        "demo", resolution=40, ref_resolution=32, samples=1, ref_views=3, normal_views=(2, 0, 2),
        anomaly_views=(2, 0, 2), types=("position", "missing", "scale"), min_visible_px=40,
    )
    lib = tmp_path / "lib"
    lib.mkdir()
    for sid in ("chair_000000", "chair_000001"):
        (lib / sid).symlink_to(library / sid)
    out = tmp_path / "ds"
    t = time.perf_counter()
    summary, counts = generate_dataset(Runner(cfg, lib, out, 0), workers=2, opts=WorkerOptions(job_timeout=300),
                                       progress=False)
    took = time.perf_counter() - t
    assert summary.counts["failed"] == 0, summary.failures
    ds = Dataset(out)
    assert len(ds.shape_ids()) == 2
    ref = ds.reference("chair_000000")
    assert ref.images.shape == (3, 32, 32) and (ref.depths > 0).mean() > 0.02
    # the reference depth back-projects onto the shape's box
    pts = ref.cameras[0].backproject(ref.depths[0].astype(np.float64))
    pts = pts[np.isfinite(pts[..., 0])]
    lo, hi = read_shape(lib / "chair_000000").bounds
    assert ((pts > lo - 0.03) & (pts < hi + 0.03)).all()
    rows = ds.rows()
    assert {r["label"] for r in rows} == {0, 1}
    kinds = {}
    for r in rows:
        s = ds.sample(r["id"])
        assert s.rgb.shape == (40, 40, 3) and (s.rgb < 200).any()
        if s.label:
            kinds.setdefault(s.meta["anomaly"]["type"], []).append(s)
    for s in kinds.get("position", []):
        assert not np.array_equal(s.mask_new, s.mask_old)
    for s in kinds.get("missing", []):
        assert not (s.parts == s.meta["anomaly"]["part_index"] + 1).any() and s.mask_old is None
    assert kinds, "no anomalous sample kept"
    # rerun: everything skipped, nothing rendered
    t = time.perf_counter()
    summary2, _ = generate_dataset(Runner(cfg, lib, out, 0), workers=2, progress=False)
    assert summary2.counts["skipped"] == sum(summary.counts.values())
    assert time.perf_counter() - t < 10
    # an anomaly that is nowhere visible enough is dropped
    cfg2 = cfg.replace(min_visible_px=10**6, types=("position",))
    summary3, counts3 = generate_dataset(Runner(cfg2, lib, tmp_path / "ds2", 0), workers=2, progress=False)
    assert summary3.counts["dropped"] >= 1 and counts3["anomalous"] == 0
    print(f"blender end-to-end: {took:.1f} s")
