"""Tests of the procedural shape generator (chairs, mechanical parts) and its CLI."""

import json
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.commands.shapes_procedural import procedural
from datagen.seeding import rng_for
from datagen.shapes.library import read_shape
from datagen.shapes.normalize import is_normalized
from datagen.shapes.procedural import CATEGORIES, generate, generate_library
from datagen.shapes.procedural.chairs import build_chair, generate_chair
from datagen.shapes.procedural.mechanical import KINDS, generate_mechanical


def _chairs(n, seed=0):
    return [generate_chair(f"c{i}", rng_for(seed, "chair", i)) for i in range(n)]


@pytest.fixture(scope="module")
def chairs200():
    return _chairs(200)


@pytest.fixture(scope="module")
def mechanical80():
    return [generate_mechanical(f"m{i}", rng_for(0, "mechanical", i), KINDS[i % len(KINDS)]) for i in range(80)]


def _check_parts(shape):
    names = [p.name for p in shape.parts]
    assert len(set(names)) == len(names)
    assert is_normalized(shape)
    for p in shape.parts:
        m = p.mesh()
        assert m.is_watertight, (shape.id, p.name)
        assert m.is_winding_consistent, (shape.id, p.name)
        assert m.volume > 0, (shape.id, p.name)
        assert p.path.endswith("/" + p.label)
        assert p.path.split("/")[0] == shape.category


def test_chair_parts_watertight_labelled(chairs200):
    for s in chairs200[:120]:
        _check_parts(s)
        assert s.category == "chair" and s.source == "procedural"
        json.dumps(s.meta)  # JSON-serializable
        assert s.meta["generator"] == "chair" and "base_type" in s.meta["params"]
        for p in s.parts:
            assert p.path.startswith(("chair/chair_base/", "chair/chair_seat/", "chair/chair_back/", "chair/chair_arm/", "chair/chair_head/"))


def test_mechanical_parts_watertight_labelled(mechanical80):
    for s in mechanical80:
        _check_parts(s)
        assert s.meta["params"]["kind"] in KINDS
        json.dumps(s.meta)
    labels = Counter(p.label for s in mechanical80 for p in s.parts)
    for lab in ("flange_disc", "hub", "bolt", "plate", "gusset", "shaft_step", "collar", "key", "gear_body", "teeth"):
        assert labels[lab] > 0, lab


def test_parts_are_single_components_and_cuttable(chairs200, mechanical80):
    """The 'broken' corruption subtracts a sphere with manifold3d: every part must load."""
    import manifold3d

    from datagen.shapes.procedural.primitives import from_manifold, to_manifold

    for s in chairs200[:30] + mechanical80[:20]:
        for p in s.parts:
            assert len(p.mesh().split(only_watertight=False)) == 1, (s.id, p.name)
            m = to_manifold(p.vertices, p.faces)
            assert m.status() == manifold3d.Error.NoError
            sphere = manifold3d.Manifold.sphere(0.3 * float(np.linalg.norm(p.extents)), 16).translate(tuple(p.bounds[1]))
            v, _ = from_manifold(m - sphere)
            assert len(v) > 0


def test_deterministic():
    for cat in CATEGORIES:
        for i in range(5):
            a = generate(cat, "x", rng_for(3, cat, i))
            b = generate(cat, "x", rng_for(3, cat, i))
            assert [p.name for p in a.parts] == [p.name for p in b.parts]
            for pa, pb in zip(a.parts, b.parts):
                assert np.array_equal(pa.vertices, pb.vertices) and np.array_equal(pa.faces, pb.faces)
            assert a.meta == b.meta


def test_params_replay_chair():
    s = generate_chair("c", rng_for(1, "chair", 7))
    t = build_chair("c", json.loads(json.dumps(s.meta["params"])))
    for pa, pb in zip(s.parts, t.parts):
        assert np.array_equal(pa.vertices, pb.vertices)


def test_chair_variety(chairs200):
    sigs = set()
    for s in chairs200:
        labels = tuple(sorted(Counter(p.label for p in s.parts).items()))
        sigs.add((labels, tuple(np.round(s.bounds, 2).ravel())))
    assert len(sigs) >= 150
    params = [s.meta["params"] for s in chairs200]
    assert len({p["base_type"] for p in params}) >= 3
    assert len({p["back_style"] for p in params}) >= 4
    assert {"none", "bars", "solid"} <= {p["arm_style"] for p in params}
    assert {"box", "rounded", "cushion"} <= {p["seat_style"] for p in params}
    assert any(p["headrest"] for p in params)
    legs = Counter(len(s.parts_with_label("leg")) for s in chairs200)
    assert {3, 4, 5} <= set(legs)
    assert any(s.parts_with_label("wheel") for s in chairs200)
    assert any(s.parts_with_label("bar_stretcher") for s in chairs200)


def test_chair_is_connected_and_stands(chairs200):
    """Every part touches another (one connected assembly) and only the base touches the floor."""
    from datagen.shapes.procedural.primitives import to_manifold

    for s in chairs200[:40]:
        ms = [to_manifold(p.vertices, p.faces) for p in s.parts]
        n = len(ms)
        adj = {i: set() for i in range(n)}
        lo, hi = np.array([p.bounds[0] for p in s.parts]), np.array([p.bounds[1] for p in s.parts])
        for i in range(n):
            for j in range(i + 1, n):
                if np.any(lo[i] > hi[j] + 1e-3) or np.any(lo[j] > hi[i] + 1e-3):
                    continue
                if ms[i].min_gap(ms[j], 1e-2) < 1e-3:
                    adj[i].add(j)
                    adj[j].add(i)
        seen, stack = {0}, [0]
        while stack:
            for j in adj[stack.pop()] - seen:
                seen.add(j)
                stack.append(j)
        assert len(seen) == n, (s.id, s.meta["params"]["base_type"], sorted(s.parts[k].name for k in set(range(n)) - seen))
        floor = s.bounds[0, 2]
        on_floor = [p for p in s.parts if p.bounds[0, 2] < floor + 1e-3]
        assert on_floor and all(p.path.startswith("chair/chair_base/") for p in on_floor), s.id


def test_chair_faces_minus_y():
    """The back is on the +Y side of the seat; the seat is above the base."""
    for s in _chairs(20, seed=5):
        seat = s.parts_with_label("seat_surface")[0]
        back = [p for p in s.parts if p.path.startswith("chair/chair_back/")]
        assert back and np.mean([p.center[1] for p in back]) > seat.center[1]
        base = [p for p in s.parts if p.path.startswith("chair/chair_base/")]
        assert max(p.center[2] for p in base) < seat.center[2]


def test_cli_writes_resumes_and_matches_library(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lib"
    r = runner.invoke(procedural, ["--category", "chair", "--count", "4", "--seed", "2", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "done 4, skipped 0, refused 0, dropped 0, failed 0" in r.output
    r = runner.invoke(procedural, ["--category", "chair", "--count", "3", "--start", "3", "--seed", "2", "--out", str(out), "--quiet"])
    assert "done 2, skipped 1, refused 0, dropped 0, failed 0" in r.output
    assert sorted(p.name for p in out.iterdir()) == [f"chair_{i:06d}" for i in range(6)]
    # shape 4 from the shard equals shape 4 generated directly
    loaded = read_shape(out / "chair_000004")
    direct = generate_chair("chair_000004", rng_for(2, "chair", 4))
    assert [p.name for p in loaded.parts] == [p.name for p in direct.parts]
    assert [p.path for p in loaded.parts] == [p.path for p in direct.parts]
    for pa, pb in zip(loaded.parts, direct.parts):
        assert np.allclose(pa.vertices, pb.vertices, atol=1e-6) and np.array_equal(pa.faces, pb.faces)
    assert loaded.meta["params"] == direct.meta["params"] and loaded.meta["index"] == 4
    r = runner.invoke(procedural, ["--category", "mechanical", "--kind", "gear", "--count", "2", "--out", str(out), "--prefix", "g", "--quiet"])
    assert r.exit_code == 0 and (out / "g_000001" / "parts.json").is_file()
    assert read_shape(out / "g_000000").meta["params"]["kind"] == "gear"
    r = runner.invoke(procedural, ["--category", "chair", "--kind", "gear", "--count", "1", "--out", str(out)])
    assert r.exit_code != 0


def test_generate_library_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        generate_library("spaceship", 1, tmp_path)
    with pytest.raises(ValueError):
        generate("spaceship", "x", np.random.default_rng(0))


def test_generate_library_never_replaces_a_twin_processs_shape(tmp_path, monkeypatch):
    """Two processes generating the same library at once (the tasks of a Slurm array, say) both find
    shape i missing and both write it: the first copy stays, the second is dropped, and a reader never
    sees the folder gone (a replace would move it aside for a moment)."""
    import datagen.shapes.library as lib
    from datagen.shapes.procedural import generate_library

    generate_library("chair", 2, tmp_path, seed=0, progress=False)
    before = {p.name: p.stat().st_ino for p in tmp_path.iterdir() if p.is_dir()}
    monkeypatch.setattr(lib, "is_shape_dir", lambda path: False)  # the race: the check ran before the twin's rename
    s = generate_library("chair", 2, tmp_path, seed=0, progress=False)
    assert s.counts["done"] == 2 and s.counts["failed"] == 0
    assert {p.name: p.stat().st_ino for p in tmp_path.iterdir() if p.is_dir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
