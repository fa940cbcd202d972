"""Odd-One-Out scenes per hour, per preset, measured in one run (``datagen scenes`` as a user runs it).

    python benchmarks/scenes_throughput.py --scenes 6 --workers 2            # both presets, defaults (256 px, 20 views)
    python benchmarks/scenes_throughput.py --presets toysad --scenes 4 --resolution 128 --views 10

Built-in procedural shapes (toys for toysad, mechanical parts for partsad) are made first and not
timed. Prints, per preset: scenes written, dropped (anomaly not visible) and refused, wall seconds,
scenes per hour, seconds per scene, and the command line that made them.
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
sys.path.insert(0, str(ROOT))


def run(preset: str, n: int, workers: int, out: Path, extra: list[str]) -> dict:
    from datagen.commands.scenes import builtin_library

    lib = builtin_library(preset, n, out / "_shapes", seed=0)
    cmd = ["datagen", "scenes", "--preset", preset, "--shapes", str(lib), "--scenes", str(n), "--out", str(out / "ds"),
           "--workers", str(workers), "--quiet", *extra]
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "datagen.cli", *cmd[1:]], capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise RuntimeError(r.stderr[-2000:])
    statuses = [json.loads(p.read_text())["status"] for p in (out / "ds" / "jobs").glob("*.done")]
    done = statuses.count("done")
    return {"preset": preset, "scenes": done, "dropped": statuses.count("dropped"), "refused": statuses.count("refused"),
            "failed": n - len(statuses), "seconds": dt, "per_hour": 3600 * done / dt if done else 0.0,
            "s_per_scene": dt / max(done, 1), "command": " ".join(cmd)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="toysad,partsad")
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resolution", type=int, default=None)
    ap.add_argument("--views", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--keep", default=None, help="Folder to keep the datasets in.")
    a = ap.parse_args()
    extra = []
    for flag, v in (("--resolution", a.resolution), ("--views", a.views), ("--samples", a.samples)):
        if v is not None:
            extra += [flag, str(v)]
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="scenes_bench_"))
    print(f"{'preset':<8} {'scenes':>6} {'dropped':>7} {'refused':>7} {'failed':>6} {'wall s':>8} {'per hour':>9} {'s/scene':>8}")
    for preset in a.presets.split(","):
        r = run(preset, a.scenes, a.workers, root / preset, extra)
        print(f"{preset:<8} {r['scenes']:>6} {r['dropped']:>7} {r['refused']:>7} {r['failed']:>6} {r['seconds']:>8.1f} "
              f"{r['per_hour']:>9.1f} {r['s_per_scene']:>8.1f}", flush=True)
        print(f"         {r['command']}")
    print(f"datasets in {root}")


if __name__ == "__main__":
    main()
