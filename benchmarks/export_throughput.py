"""Export speed to the papers' released layouts, measured in one run (``datagen export``).

    python benchmarks/export_throughput.py --looking3d ds/ --scenes scenes_ds/     # datasets you have
    python benchmarks/export_throughput.py                                          # made here: box chairs
                                                                                    # (no Blender); scenes only with --scenes

Looking 3D: ``export_looking3d`` of a format-v1 dataset (default: the tests' box chairs without
Blender, ``--shapes`` x 20 queries at 256 px with 20 reference views), queries written at
``--query-size`` (the release's 512); samples per second and seconds per shape (reference views,
their points and cameras). Odd-One-Out: ``export_oddoneout`` of a scenes dataset (``--scenes``;
e.g. one made by benchmarks/scenes_throughput.py ``--keep``); seconds per scene. One worker each,
into fresh folders; the second, incremental run (everything skipped) is timed too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn, *a, **kw):
    t = time.perf_counter()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t


def bench_looking3d(src: Path, out: Path, query_size: int, workers: int) -> None:
    from datagen.dataset.reader import Dataset
    from datagen.export import export_looking3d

    n_samples = len(Dataset(src))
    n_shapes = sum(1 for _ in (src / "shapes").iterdir())
    s, sec = _timed(export_looking3d, src, out, query_size=query_size, workers=workers, progress=False)
    _, again = _timed(export_looking3d, src, out, query_size=query_size, workers=workers, progress=False)
    print(f"looking3d: {n_samples} samples, {n_shapes} shapes -> {out}: {sec:.1f} s = {n_samples / sec:.1f} samples/s "
          f"(queries at {query_size} px, {workers} worker(s)); rerun (all skipped) {again:.2f} s")


def bench_oddoneout(src: Path, out: Path, workers: int) -> None:
    from datagen.export import export_oddoneout

    n = sum(1 for _ in (src / "scenes").iterdir())
    r, sec = _timed(export_oddoneout, src, out, workers=workers, progress=False)
    _, again = _timed(export_oddoneout, src, out, workers=workers, progress=False)
    print(f"oddoneout: {n} scenes -> {out}: {sec:.2f} s = {sec / max(n, 1):.2f} s per scene ({workers} worker(s)); "
          f"rerun (all skipped) {again:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--looking3d", type=Path, default=None, help="a format-v1 query dataset (default: box chairs made here)")
    ap.add_argument("--scenes", type=Path, default=None, help="a format-v1 scenes dataset (default: no scenes export)")
    ap.add_argument("--shapes", type=int, default=10)
    ap.add_argument("--query-size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="export_bench_"))
    src = args.looking3d
    if src is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from synth_chairs import make_synthetic

        src = tmp / "chairs"
        make_synthetic(src, np.random.default_rng(0), shapes=args.shapes, queries_per_shape=20, resolution=256,
                       ref_views=20)
    bench_looking3d(src, tmp / "bc_like", args.query_size, args.workers)
    if args.scenes is not None:
        bench_oddoneout(args.scenes, tmp / "scenes_like", args.workers)
    print(f"files in {tmp}")


if __name__ == "__main__":
    main()
