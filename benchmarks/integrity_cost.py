"""What integrity and mesh cleaning cost, measured in one run.

    python benchmarks/integrity_cost.py                 # 200 samples at 256 px; a double-sided sphere of <= 100K faces
    python benchmarks/integrity_cost.py --samples 500 --size 512 --faces 400000

1. Checksums: ``DatasetWriter.write_sample`` (PNG encoding, depth .npy, masks, meta.json, the
   folder's manifest.json, rename) on rendered-like content (smooth shading, noise, a white
   background), against BLAKE2b over the same bytes alone: the share of a sample's write time that
   the digests take. Also ``verify`` of the written dataset with and without digests.
2. Mesh cleaning: ``clean_part`` on a ShapeNet-like double-sided icosphere (the largest subdivision
   level with at most ``--faces`` faces once doubled; every triangle twice, opposite winding, and one
   vertex copy per face corner to weld), seconds and faces per second, and what it removed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _content(rng: np.random.Generator, size: int):
    """An RGB image like a render (a shaded disc on white, sensor-like noise), depth, parts and masks."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    r = np.hypot(xx - 0.5, yy - 0.55)
    obj = r < 0.3
    shade = np.clip(1.2 - r * 2.0, 0, 1)
    rgb = np.full((size, size, 3), 255.0)
    base = rng.uniform(60, 200, 3)
    rgb[obj] = base * shade[obj, None]
    rgb += rng.normal(0, 2.0, rgb.shape)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    depth = np.where(obj, 2.0 + r, 0.0).astype(np.float32)
    parts = (obj * (1 + (xx > 0.5) + 2 * (yy > 0.6))).astype(np.uint16)
    mask = obj & (xx > 0.55) & (yy < 0.5)
    return rgb, depth, parts, mask


def bench_checksums(n: int, size: int) -> dict:
    from datagen.dataset.manifest import entry
    from datagen.dataset.verify import verify
    from datagen.dataset.writer import DatasetWriter

    rng = np.random.default_rng(0)
    out = Path(tempfile.mkdtemp(prefix="integrity_")) / "ds"
    w = DatasetWriter(out, config={"generator": "benchmarks/integrity_cost.py"}, seed=0)
    contents = [_content(rng, size) for _ in range(8)]
    cam = {"K": [[size, 0, size / 2], [0, size, size / 2], [0, 0, 1]], "R": np.eye(3).tolist(), "t": [0, 0, 2.5],
           "width": size, "height": size}
    t_write = 0.0
    for i in range(n):
        rgb, depth, parts, mask = contents[i % len(contents)]
        meta = {"shape_id": f"s{i // 10:04d}", "label": 1, "split": "train", "camera": cam,
                "anomaly": {"type": "missing", "part": "leg"}}
        t = time.perf_counter()
        w.write_sample(f"s{i // 10:04d}__missing__{i:05d}", meta, rgb, depth, parts, mask_new=mask)
        t_write += time.perf_counter() - t
    w.finalize()
    # the digests alone, over exactly the bytes written (every file of every sample folder)
    blobs = [p.read_bytes() for p in sorted((out / "samples").rglob("*")) if p.is_file() and p.name != "manifest.json"]
    t = time.perf_counter()
    for b in blobs:
        entry(b)
    t_hash = time.perf_counter() - t
    # verify on a complete dataset (shapes with reference views too): the box chairs of the tests
    sys.path.insert(0, str(ROOT / "tests"))
    from synth_chairs import make_synthetic

    full = out.parent / "full"
    make_synthetic(full, np.random.default_rng(0), shapes=max(2, n // 20), queries_per_shape=20, resolution=size // 2,
                   ref_views=8)
    t = time.perf_counter()
    p_digest = verify(full, pixels=False, manifests=True, digests=True)
    t_verify_d = time.perf_counter() - t
    t = time.perf_counter()
    p_size = verify(full, pixels=False, manifests=True, digests=False)
    t_verify_s = time.perf_counter() - t
    assert not p_digest and not p_size, (p_digest[:3], p_size[:3])
    n_full = sum(1 for _ in (full / "samples").iterdir())
    mb = sum(len(b) for b in blobs) / 1e6
    return {"n": n, "size": size, "write_ms": 1000 * t_write / n, "hash_ms": 1000 * t_hash / n,
            "share": t_hash / t_write, "mb": mb, "hash_mb_s": mb / t_hash,
            "verify_digest_s": t_verify_d, "verify_sizes_s": t_verify_s, "verify_samples": n_full,
            "algorithm": hashlib.blake2b().name}


def double_sided_sphere(target_faces: int):
    """A ShapeNet-like part: an icosphere whose every face is stored twice with opposite winding on
    the same vertices, and whose vertices are repeated once per face (the OBJ exports weld nothing)."""
    import trimesh

    sub = 0
    while 20 * 4 ** (sub + 1) * 2 <= target_faces:
        sub += 1
    s = trimesh.creation.icosphere(subdivisions=sub, radius=0.3)
    f = np.vstack([s.faces, s.faces[:, ::-1]])
    v = s.vertices[f.reshape(-1)]  # one vertex copy per face corner: nothing shared until welded
    return v, np.arange(len(v)).reshape(-1, 3), len(s.faces)


def bench_clean(target_faces: int, repeat: int) -> dict:
    from datagen.shapes.clean import clean_part

    v, f, single = double_sided_sphere(target_faces)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        v2, f2, rep = clean_part(v, f)
        times.append(time.perf_counter() - t)
    sec = float(np.median(times))
    return {"faces_in": len(f), "faces_out": len(f2), "single": single, "vertices_in": len(v), "vertices_out": len(v2),
            "seconds": sec, "faces_per_s": len(f) / sec, "report": rep.to_json() if hasattr(rep, "to_json") else str(rep)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    c = bench_checksums(args.samples, args.size)
    print(f"checksums: {c['n']} samples at {c['size']} px, {c['mb']:.1f} MB: write_sample {c['write_ms']:.2f} ms/sample, "
          f"BLAKE2b of the same bytes {c['hash_ms']:.2f} ms/sample = {100 * c['share']:.1f} % of the write "
          f"({c['hash_mb_s']:.0f} MB/s)")
    print(f"verify --no-pixels of {c['verify_samples']} samples + their shapes: with digests {c['verify_digest_s']:.2f} s, "
          f"--no-checksums {c['verify_sizes_s']:.2f} s")
    k = bench_clean(args.faces, args.repeat)
    print(f"clean_part: {k['faces_in']} faces / {k['vertices_in']} vertices (double-sided, unwelded) -> "
          f"{k['faces_out']} faces / {k['vertices_out']} vertices (single-sided sphere: {k['single']} faces) in "
          f"{k['seconds']:.3f} s = {k['faces_per_s'] / 1e6:.2f} M faces/s (median of {args.repeat})")


if __name__ == "__main__":
    main()
