"""Pipeline overhead and where the time goes: ``datagen generate --preset brokenchairs`` as a user runs it.

    python benchmarks/pipeline_overhead.py                       # 2 chairs; 1x2, 2x1 and 1x1 workers x threads
    python benchmarks/pipeline_overhead.py --chairs 2 --configs 1x2,2x1 --resolution 128

For each workers x threads configuration it runs ``datagen generate`` (a subprocess, start-up
included) on the same procedural chairs (made first, not timed) into a fresh folder and reads the
per-job timings the runner writes into ``jobs/*.done`` (seconds of each Blender phase, see
``blender_scripts/phases.py``). It prints, per configuration:

- images (query + reference views written), wall seconds, images per hour;
- overhead = 1 - (Cycles path tracing seconds) / (workers x wall seconds), the issue's measure
  ("wall time minus the time Cycles spends path-tracing", per worker slot), and the same with
  everything inside Blender's render call counted as rendering;
- where the time goes, as shares of workers x wall: scene build, sync, scene update, BVH,
  kernels, sampling, denoise, Blender's file save, EXR read-back, PNG/NPY writing, rest of the
  worker round trip (IPC, mesh loading not in build), Python in the runner (corruption, spec,
  sample writing), and pool start-up / finalize / idle.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Blender-side keys of a job's timings, in the order printed (see blender_scripts/phases.py).
BLENDER_KEYS = ("build", "sync", "update", "bvh", "kernels", "sampling", "denoise", "save", "other",
                "exr_read", "write")


def run_config(shapes: Path, out: Path, workers: int, threads: int, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "datagen.cli", "generate", "--preset", "brokenchairs", "--shapes", str(shapes),
           "--out", str(out), "--workers", str(workers), "--threads", str(threads), "--quiet", *extra]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"generate failed ({r.returncode}): {r.stderr[-2000:]}")
    sums: dict[str, float] = {}
    job_seconds = 0.0
    for p in (out / "jobs").rglob("*.done"):
        m = json.loads(p.read_text())
        job_seconds += float(m.get("seconds", 0.0))
        for k, v in (m.get("timings") or {}).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    images = sum(1 for _ in out.glob("samples/*/rgb.png")) + sum(1 for _ in out.glob("shapes/*/views/[0-9]*[0-9].png"))
    slots = workers * wall
    blender = sums.get("blender", 0.0)
    inside = sum(sums.get(k, 0.0) for k in BLENDER_KEYS)
    shares = {k: sums.get(k, 0.0) / slots for k in BLENDER_KEYS}
    shares["worker round trip, rest"] = max(blender - inside, 0.0) / slots
    shares["runner python"] = max(job_seconds - blender, 0.0) / slots
    shares["start-up, finalize, idle"] = max(slots - job_seconds, 0.0) / slots
    return {"workers": workers, "threads": threads, "wall": wall, "images": images,
            "per_hour": 3600 * images / wall, "overhead": 1 - sums.get("sampling", 0.0) / slots,
            "overhead_render_call": 1 - sums.get("render", 0.0) / slots, "shares": shares,
            "command": " ".join(["datagen", *cmd[3:]])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chairs", type=int, default=2)
    ap.add_argument("--configs", default="1x2,2x1,1x1", help="workers x threads, comma-separated")
    ap.add_argument("--resolution", type=int, default=None, help="override the preset's 256 px")
    ap.add_argument("--keep", type=Path, default=None, help="keep the datasets here")
    args = ap.parse_args()
    extra = ["--resolution", str(args.resolution)] if args.resolution else []
    root = args.keep or Path(tempfile.mkdtemp(prefix="overhead_"))
    shapes = root / "shapes"
    subprocess.run([sys.executable, "-m", "datagen.cli", "shapes", "procedural", "--category", "chair", "--count",
                    str(args.chairs), "--seed", "0", "--out", str(shapes), "--quiet"], check=True, cwd=ROOT)
    rows = []
    for c in args.configs.split(","):
        w, t = (int(x) for x in c.lower().split("x"))
        row = run_config(shapes, root / f"w{w}_t{t}", w, t, extra)
        rows.append(row)
        print(f"{w} worker(s) x {t} thread(s): {row['images']} images in {row['wall']:.1f} s = "
              f"{row['per_hour']:.0f} images/hour; overhead {100 * row['overhead']:.1f} % of worker time "
              f"outside path tracing ({100 * row['overhead_render_call']:.1f} % outside Blender's render call)",
              flush=True)
    print("\nwhere the time goes (share of workers x wall seconds)")
    keys = list(rows[0]["shares"])
    print(f"{'':28s}" + "".join(f"{r['workers']}x{r['threads']:<8d}" for r in rows))
    for k in keys:
        print(f"{k:28s}" + "".join(f"{100 * r['shares'][k]:6.1f} %  " for r in rows))
    base = rows[0]["per_hour"]
    print("\nscaling (images/hour relative to the first configuration): "
          + ", ".join(f"{r['workers']}x{r['threads']} {r['per_hour'] / base:.2f}x" for r in rows))
    print("commands: " + " | ".join(r["command"] for r in rows))


if __name__ == "__main__":
    main()
