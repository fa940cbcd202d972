"""Packed training data (``datagen pack``): size on disk and items/s read, per encode option,
against the per-sample folders; single process, no model (what one DataLoader worker does).

    python benchmarks/pack_throughput.py                       # synthetic: 50 shapes x 28 queries, 96 px, 20 views
    python benchmarks/pack_throughput.py --data ds/ --views 10 # any format-v1 dataset

Size of a 10K-query pack: extrapolated from the measured bytes per query record and per shape
view (the shards' own descriptors), as 10,000 x query + (10,000 / queries per shape) x
``--ref-views`` x view; ``--queries-per-shape`` defaults to 28, about what the brokenchairs preset
makes (normal views median 8 + 5 anomaly types x median 4), ``--ref-views`` to its 20.
Items/s: the training items (flip + crop, ``--views`` random reference views with their 3D points
and view-view correspondences) after a burn-in pass over ``--burn`` items, per wall second and per
CPU second of the process (the fair number on a shared machine); also the query alone (views=0),
which isolates the image read + decode.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in a DataLoader worker: one thread per process
from pathlib import Path

import numpy as np

from datagen.dataset.pack import pack_dataset
from datagen.dataset.shards import ShardReader
from trainer.data import AnomalyDataset
from trainer.packed import PackedDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synth_chairs import make_synthetic  # noqa: E402 (a test fixture: box chairs without Blender)


def folder_bytes(root: Path, split: str | None) -> int:
    """Bytes of what the trainer reads in the folders: the split's samples and their shapes' views."""
    ds = AnomalyDataset(root, split, views=0, resolution=32)
    shapes = {r["shape_id"] for r in ds.rows}
    n = sum(f.stat().st_size for r in ds.rows for f in (root / "samples" / r["id"]).iterdir())
    return n + sum(f.stat().st_size for s in shapes for f in (root / "shapes" / s / "views").iterdir())


def record_bytes(pack: Path) -> tuple[float, float]:
    """Mean encoded bytes per query record and per reference view (shape records / their views) of a pack."""
    q, s, nq, nv = 0, 0, 0, 0
    for f in sorted(pack.glob("*.a3dp")):
        for rec in ShardReader(f).records:
            b = sum(a[1] for a in rec["arrays"].values())
            if rec["kind"] == "query":
                q, nq = q + b, nq + 1
            else:
                s, nv = s + b, nv + len(rec["cameras"])
    return q / max(nq, 1), s / max(nv, 1)


def items_per_s(ds, n: int, burn: int) -> tuple[float, float]:
    """(items per wall second, items per CPU second of this process) over ``n`` items in a random order."""
    order = np.random.default_rng(0).permutation(len(ds))
    for i in order[:burn]:
        ds[int(i)]
    idx = [int(order[k % len(order)]) for k in range(n)]
    t, c = time.perf_counter(), time.process_time()
    for k, i in enumerate(idx):
        ds.set_epoch(k // len(order))
        ds[i]
    return n / (time.perf_counter() - t), n / max(time.process_time() - c, 1e-9)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="A format-v1 dataset (default: make a synthetic one in --work).")
    ap.add_argument("--work", type=Path, default=Path("/tmp/pack_bench"))
    ap.add_argument("--split", default="train", help="A split, or 'all'.")
    ap.add_argument("--shapes", type=int, default=50)
    ap.add_argument("--queries-per-shape", type=int, default=28)
    ap.add_argument("--ref-views", type=int, default=20, help="Reference views per shape (synthetic, and the 10K extrapolation).")
    ap.add_argument("--resolution", type=int, default=96, help="Synthetic render size and training resolution.")
    ap.add_argument("--views", type=int, default=10, help="Reference views per training item.")
    ap.add_argument("--items", type=int, default=600, help="Items timed per dataset.")
    ap.add_argument("--burn", type=int, default=100)
    ap.add_argument("--encodes", default="raw,png,webp,webp:95", help="encode[:query WebP quality], comma-separated.")
    a = ap.parse_args(argv)

    data = a.data
    if data is None:
        data = a.work / f"synth_{a.shapes}x{a.queries_per_shape}_{a.resolution}px_{a.ref_views}v"
        if not (data / "index.jsonl").exists():
            shutil.rmtree(data, ignore_errors=True)
            t = time.perf_counter()
            make_synthetic(data, np.random.default_rng(0), shapes=a.shapes, queries_per_shape=a.queries_per_shape,
                           resolution=a.resolution, ref_views=a.ref_views, splits=(1.0, 0.0, 0.0))
            print(f"made {data} in {time.perf_counter() - t:.0f} s")
    R = a.resolution
    split = None if a.split == "all" else a.split
    base = AnomalyDataset(data, split, views=a.views, resolution=R, seed=0)
    n_queries = len(base)
    n_shapes = len({r["shape_id"] for r in base.rows})
    qps = n_queries / n_shapes
    print(f"dataset {data}: split {a.split}, {n_queries} queries, {n_shapes} shapes ({qps:.1f} queries/shape); "
          f"items: {R} px, {a.views} views, flip + crop")
    rows = []
    fb = folder_bytes(data, split)
    rows.append(("folders (PNG + .npy)", fb, fb / n_queries, float("nan"), float("nan"), None,
                 items_per_s(base, a.items, a.burn),
                 items_per_s(AnomalyDataset(data, split, views=0, resolution=R, seed=0), a.items, a.burn)))
    for option in a.encodes.split(","):
        enc, _, q = option.partition(":")
        out = a.work / f"pack_{enc}{q}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        s = pack_dataset(data, out, splits=None if split is None else [split], encode=enc, quality=int(q) if q else None,
                         progress=False)
        dt = time.perf_counter() - t
        qb, vb = record_bytes(out)
        sb = vb * a.ref_views
        ext = 10_000 * qb + 10_000 / a.queries_per_shape * sb
        ds = PackedDataset(out, split, views=a.views, resolution=R, seed=0)
        q_only = PackedDataset(out, split, views=0, resolution=R, seed=0)
        name = f"pack --encode {enc}" + (f" --quality {q}" if q else "")
        rows.append((name, s.bytes, qb, sb, ext, dt, items_per_s(ds, a.items, a.burn), items_per_s(q_only, a.items, a.burn)))
    print(f"\n| data | MB on disk | bytes/query rec | bytes/shape ({a.ref_views} views) "
          f"| 10K queries @ {a.queries_per_shape}/shape, MB | pack s | items/s ({a.views} views): wall / CPU "
          "| items/s (query only): wall / CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for name, b, qb, sb, ext, dt, ips, ips_q in rows:
        cells = [name, f"{b / 2**20:.1f}", f"{qb:.0f}", "" if sb != sb else f"{sb:.0f}",
                 "" if ext != ext else f"{ext / 2**20:.1f}", "" if dt is None else f"{dt:.1f}",
                 f"{ips[0]:.0f} / {ips[1]:.0f}", f"{ips_q[0]:.0f} / {ips_q[1]:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print("\nratio items per CPU second, pack / folders: "
          + ", ".join(f"{r[0][5:]} {r[6][1] / rows[0][6][1]:.2f}x (query only {r[7][1] / rows[0][7][1]:.2f}x)"
                      for r in rows[1:]))


if __name__ == "__main__":
    main()
