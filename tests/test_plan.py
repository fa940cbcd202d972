import json
import math

import pytest

from datagen.config import GenConfig, load_config, preset
from datagen.errors import InputError
from datagen.plan import assign_splits, parse_shard, plan, plan_json, shard
from datagen.seeding import stable_seed

IDS = [f"chair_{i:06d}" for i in range(40)]


def test_brokenchairs_preset_is_the_paper():
    c = preset("brokenchairs")
    assert c.resolution == 256 and abs(c.fx - 355.56) < 0.01
    assert c.camera_radius == 2.5 and c.azimuth_steps == 20
    assert math.isclose(math.radians(c.elevation_deg[0]), math.pi / 9)
    assert math.isclose(math.radians(c.elevation_deg[1]), 2 * math.pi / 9)
    assert c.ref_views == 20 and c.ref_elevation_deg == 20 and c.ref_radius == 2.0 and c.ref_engine == "workbench"
    r = c.render
    assert r.samples == 128 and r.denoise == "oidn_fast" and r.adaptive_threshold == 0.011 and r.light_tree == "auto" and r.adaptive_min_samples == 4
    assert preset("brokenchairs", samples=2).render.adaptive_min_samples == 2
    assert c.splits == (0.78, 0.07, 0.15)
    assert c.types == ("position", "rotation", "broken", "swapped", "missing")  # the paper's five
    # config round-trips JSON
    assert GenConfig.from_json(json.loads(json.dumps(c.to_json()))) == c


def test_config_errors_name_the_option(tmp_path):
    with pytest.raises(ValueError, match="resolution"):
        preset("brokenchairs", resolution=3)
    with pytest.raises(ValueError, match="types"):
        preset("brokenchairs", types=("position", "exploded"))
    with pytest.raises(ValueError, match="splits"):
        preset("brokenchairs", splits=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"preset": "demo", "samples": 0}))
    with pytest.raises(InputError, match="samples"):
        load_config(p)
    p.write_text(json.dumps({"preset": "demo", "sampels": 4}))
    with pytest.raises(InputError, match="unknown config keys"):
        load_config(p)
    p.write_text(json.dumps({"preset": "demo", "samples": 4}))
    c = load_config(p, resolution=64)
    assert c.render.samples == 4 and c.resolution == 64 and c.preset == "demo"
    # the version-1 layout (render keys at the top level) and the nested one give the same config
    p.write_text(json.dumps({"preset": "demo", "render": {"samples": 4}}))
    assert load_config(p, resolution=64) == c
    p.write_text(json.dumps({"preset": "demo", "render": {"seed": 3}}))
    with pytest.raises(InputError, match="render.seed is set per spec"):
        load_config(p)
    p.write_text(json.dumps({"preset": "demo", "corruption": {"broken": {"min_fraction": 0.99}}}))
    with pytest.raises(InputError, match="broken.min_fraction"):
        load_config(p)
    p.write_text(json.dumps({"preset": "demo", "corruption": {"scale": {"max_axes": 1}}}))
    assert load_config(p).corruption_options("scale")[0].max_axes == 1


def test_presets_are_configs_and_overrides_go_through_replace():
    from datagen.config import DEMO, PRESETS, with_overrides

    assert PRESETS["demo"] is DEMO and isinstance(DEMO, GenConfig)
    c = with_overrides(DEMO, samples=3, resolution=40, types=("scale",))
    assert c.render.samples == 3 and c.resolution == 40 and c.types == ("scale",)
    assert c.render.denoise == DEMO.render.denoise and c.ref_views == DEMO.ref_views
    with pytest.raises(ValueError, match="samples"):
        with_overrides(DEMO, samples=0)


def test_min_visible_scales_with_resolution():
    assert preset("brokenchairs", min_visible_px=100).min_visible_pixels == 100
    assert preset("brokenchairs", min_visible_px=100, resolution=128).min_visible_pixels == 25


def test_plan_is_deterministic_and_seeded_by_job_id():
    c = preset("brokenchairs", anomaly_prob=0.6)
    a = plan(c, IDS, 7)
    b = plan(c, list(reversed(IDS)), 7)  # order of the input does not matter
    assert plan_json(a) == plan_json(b)
    assert plan_json(a) != plan_json(plan(c, IDS, 8))
    ids = [j.id for j in a]
    assert len(set(ids)) == len(ids)
    for j in a:
        assert j.seed == stable_seed(7, j.id)
        assert j.id.startswith(j.shape_id + "/")
    kinds = {j.kind for j in a}
    assert kinds == {"ref", "normal", "anomaly"}
    assert sum(j.kind == "ref" for j in a) == len(IDS)
    n_anom = sum(j.kind == "anomaly" for j in a)
    assert 0.4 * 5 * len(IDS) < n_anom < 0.8 * 5 * len(IDS)  # p = 0.6 per type
    # adding a shape does not change the other shapes' jobs (seeds depend on the job id only)
    more = {j.id: j.seed for j in plan(c, IDS + ["zzz"], 7)}
    assert all(more[j.id] == j.seed for j in a)


def test_splits_disjoint_by_shape_with_ratios():
    s = assign_splits(IDS * 2, (0.78, 0.07, 0.15), 0)
    allids = s["train"] + s["val"] + s["test"]
    assert sorted(allids) == sorted(IDS)
    assert len(s["test"]) == 6 and len(s["val"]) == 3 and len(s["train"]) == 31
    assert s == assign_splits(list(reversed(IDS)), (0.78, 0.07, 0.15), 0)
    assert s != assign_splits(IDS, (0.78, 0.07, 0.15), 1)
    jobs = plan(preset("brokenchairs"), IDS, 0)
    split_of = {sid: k for k, v in s.items() for sid in v}
    assert all(j.split == split_of[j.shape_id] for j in jobs)


def test_shards_partition_the_plan():
    jobs = plan(preset("brokenchairs"), IDS, 3)
    for n in (1, 3, 7):
        parts = [shard(jobs, i, n) for i in range(n)]
        flat = [j.id for p in parts for j in p]
        assert sorted(flat) == sorted(j.id for j in jobs)
        assert len(set(flat)) == len(flat)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(ValueError):
        shard(jobs, 3, 3)


def test_parse_shard_from_text_and_env():
    assert parse_shard("2/5", env={}) == (2, 5)
    assert parse_shard(None, env={}) is None
    assert parse_shard(None, env={"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}) == (3, 4)
    assert parse_shard("auto", env={"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}) == (3, 4)
    assert parse_shard("auto", env={"JOB_COMPLETION_INDEX": "0", "DATAGEN_SHARD_COUNT": "2"}) == (0, 2)
    for bad in ("5/5", "a/b", "1"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad, env={})
    with pytest.raises(ValueError, match="auto"):
        parse_shard("auto", env={})
    with pytest.raises(ValueError, match="DATAGEN_SHARD_COUNT"):
        parse_shard(None, env={"JOB_COMPLETION_INDEX": "1"})
