"""Render throughput: our pipeline vs a naive one-process-per-image baseline, with PSNR.

(a) ours: one worker process (bpy imported once), the scene built once per spec, all
    views of a shape rendered from it; Cycles adaptive sampling (noise threshold 0.011,
    4..128 spp) + OIDN (albedo guide, prefilter FAST), no light tree (one sun), weak sub-pixel
    bumps dropped (``materials.lod``, ``bump_lod_px`` 3): the `brokenchairs` defaults (the
    ``--samples`` .. ``--denoise`` defaults are read from the preset).
(b) naive: a new Python+Blender process per image, scene built per image, Cycles 128 spp
    with the default denoiser (OIDN, prefilter ACCURATE).
Light paths (bounces, clamping, caustics) are Blender's defaults on all three sides; naive and
reference keep Blender's light tree on (and the naive OIDN gets albedo + normal) and render every
material at full detail.
Both render the same shapes and views; each is compared with a reference render of the
same views (1024 spp, no denoiser, one worker) by PSNR over the whole image and over
the object pixels (index > 0 in the reference). Prints images/hour of each, their ratio
and the PSNRs. Usage (defaults: 1 chair, 3 views, 256x256, about 6 minutes on 2 cores):

    python benchmarks/render_throughput.py [--shapes 1] [--views 3] [--size 256]
        [--ref-samples 1024] [--materials flat|preset] [--keep DIR [--reuse-ref]] [--repeat 1]
        [--samples 128] [--adaptive-threshold 0.011] [--adaptive-min-samples 4] [--denoise oidn_fast]

"once it is running" times start at the worker's first answer (Python and bpy loaded): the steady
state of a run, whose workers render spec after spec.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.executors.worker import WorkerHandle
from datagen.seeding import rng_for
from datagen.shapes.objio import write_obj
from datagen.spec import Camera, Material, RenderSettings, SceneObject, SceneSpec
from materials.variation import sample_variation


def make_shapes(root: Path, n: int, materials: str) -> list[tuple[list[SceneObject], str]]:
    """Write ``n`` procedural chairs (or a box + sphere when unavailable) as OBJ parts."""
    out = []
    try:
        from datagen.shapes.procedural import generate

        shapes = [generate("chair", f"bench_{i}", rng_for("render_bench", i)) for i in range(n)]
        parts = []
        for s in shapes:  # stand each chair on the floor (z = 0)
            zmin = min(float(p.vertices[:, 2].min()) for p in s.parts)
            parts.append([(p.name, p.vertices - [0.0, 0.0, zmin], p.faces) for p in s.parts])
    except Exception as e:  # noqa: BLE001  (any failure: fall back to trimesh primitives)
        print(f"procedural chairs unavailable ({e}); using trimesh primitives", file=sys.stderr)
        import trimesh

        box = trimesh.creation.box((0.5, 0.5, 0.5))
        box.apply_translation((-0.3, 0, 0.25))
        sph = trimesh.creation.icosphere(3, radius=0.25)
        sph.apply_translation((0.3, 0.1, 0.25))
        parts = [[("box", box.vertices, box.faces), ("sphere", sph.vertices, sph.faces)]] * n
    lib = None
    if materials == "preset":
        from materials.presets import builtin_library

        lib = builtin_library(40, seed=0)
    for i, pl in enumerate(parts):
        objs = []
        for k, (name, v, f) in enumerate(pl):
            path = root / f"shape{i}" / f"{k:02d}_{name.replace('/', '_')}.obj"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_obj(path, v, f)
            mat = lib[(i * 7 + k) % len(lib)] if lib else Material("gray", "flat")
            mat = dataclasses.replace(mat, variation=sample_variation(mat, rng_for("bench", i, k)))
            objs.append(SceneObject(f"{k:02d}_{name}", str(path), k + 1, material=mat))
        out.append((objs, f"shape{i}"))
    return out


def cameras(n: int, size: int) -> list[Camera]:
    fx = 50.0 / 36.0 * size  # 50 mm lens on a 36 mm sensor (Looking 3D reference views)
    return [Camera.orbit(2.5, 2 * math.pi * k / n + 0.3, math.radians(20), fx, size, size, target=(0, 0, 0.25)) for k in range(n)]


def write_spec(path: Path, objs, cams, **settings) -> Path:
    SceneSpec(objs, cams, settings=RenderSettings(**settings)).save(path)
    return path


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        d = d[mask]
    mse = float(d.mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


CPU: dict[str, list[float]] = {"ours": [], "naive": []}


def _digest(dirs: list[Path]) -> str:
    h = hashlib.sha256()
    for d in dirs:
        for f in sorted(Path(d).glob("*.png")):
            h.update(f.read_bytes())
    return h.hexdigest()


WARM: list[float] = []


def run_worker(jobs: list[tuple[Path, Path]], tag: str | None = None) -> float:
    """Render the specs in one worker; returns wall seconds including worker start. With ``tag``,
    also records the seconds from the worker's first answer (a ping: Python and bpy loaded) to the
    end in ``WARM``, the steady state of a run whose workers render spec after spec."""
    t, cpu = time.perf_counter(), _child_cpu()
    with WorkerHandle(timeout=3600) as w:
        w.request({"cmd": "ping"})
        t_ready = time.perf_counter()
        for spec, out in jobs:
            r = w.render(spec, out)
            if not r["ok"]:
                raise RuntimeError(r["error"])
        t_end = time.perf_counter()
    if tag:
        CPU[tag].append(_child_cpu() - cpu)
        WARM.append(t_end - t_ready)
    return time.perf_counter() - t


def run_naive(jobs: list[tuple[Path, Path]]) -> float:
    """One fresh process per single-view spec; returns wall seconds."""
    t, cpu = time.perf_counter(), _child_cpu()
    for spec, out in jobs:
        code = f"from blender_scripts.render import render_files; render_files({str(spec)!r}, {str(out)!r})"
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CPU["naive"].append(_child_cpu() - cpu)
    return time.perf_counter() - t


def main():
    from datagen.config import BROKENCHAIRS

    r = BROKENCHAIRS.render
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", type=int, default=1)
    ap.add_argument("--views", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--samples", type=int, default=r.samples, help="ours: Cycles (maximum) samples")
    ap.add_argument("--adaptive-threshold", type=float, default=r.adaptive_threshold, help="ours: noise threshold, 0 = off")
    ap.add_argument("--adaptive-min-samples", type=int, default=r.adaptive_min_samples, help="ours: adaptive minimum samples")
    ap.add_argument("--denoise", default=r.denoise, help="ours: none | oidn_fast | oidn")
    ap.add_argument("--naive-samples", type=int, default=128)
    ap.add_argument("--ref-samples", type=int, default=1024)
    ap.add_argument("--materials", choices=["flat", "preset"], default="flat")
    ap.add_argument("--keep", help="keep renders in this folder (default: a temporary one)")
    ap.add_argument("--reuse-ref", action="store_true", help="reuse reference renders already in --keep (same options)")
    ap.add_argument("--repeat", type=int, default=1, help="timing rounds (ours then naive), medians reported")
    args = ap.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="render_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    shapes = make_shapes(root / "meshes", args.shapes, args.materials)
    cams = cameras(args.views, args.size)
    n_img = len(shapes) * len(cams)
    common = dict(ground=True, background="white", seed=1)
    # naive and reference: Blender's defaults, every material at full detail
    blender = dict(light_tree="on", denoise_guides="albedo_normal", bump_lod_px=0.0)

    ours_jobs, naive_jobs, ref_jobs = [], [], []
    for objs, name in shapes:
        ours_jobs.append((write_spec(root / f"{name}_ours.json", objs, cams, samples=args.samples, denoise=args.denoise,
                                    adaptive_threshold=args.adaptive_threshold, adaptive_min_samples=args.adaptive_min_samples,
                                    **common), root / "ours" / name))
        ref_jobs.append((write_spec(root / f"{name}_ref.json", objs, cams, samples=args.ref_samples, denoise="none", **blender, **common), root / "ref" / name))
        for c, cam in enumerate(cams):
            spec = write_spec(root / f"{name}_naive{c}.json", objs, [cam], samples=args.naive_samples, denoise="oidn", **blender, **common)
            naive_jobs.append((spec, root / "naive" / f"{name}_{c}"))

    print(f"{n_img} images ({len(shapes)} shapes x {len(cams)} views) at {args.size}x{args.size}, files in {root}", flush=True)
    # machines with noisy neighbours drift: alternate ours/naive and use the median of each
    t_ours_all, t_naive_all, digests = [], [], []
    for r in range(args.repeat):
        t_ours_all.append(run_worker(ours_jobs, "ours"))
        digests.append(_digest([out for _, out in ours_jobs]))
        t_naive_all.append(run_naive(naive_jobs))
        print(f"  round {r + 1}: ours {t_ours_all[-1]:.1f} s, naive {t_naive_all[-1]:.1f} s", flush=True)
    t_ours, t_naive = float(np.median(t_ours_all)), float(np.median(t_naive_all))
    if len(digests) > 1:
        print(f"ours deterministic across rounds: {len(set(digests)) == 1}", flush=True)
    spp = f"{args.adaptive_min_samples}..{args.samples} spp adaptive {args.adaptive_threshold}" if args.adaptive_threshold > 0 else f"{args.samples} spp"
    t_warm = float(np.median(WARM))
    print(f"ours  ({spp}, {args.denoise}, one worker): {t_ours:7.1f} s  {n_img / t_ours * 3600:8.0f} images/hour "
          f"(worker start-up included; {t_warm:.1f} s = {n_img / t_warm * 3600:.0f} images/hour once it is running)", flush=True)
    print(f"naive ({args.naive_samples} spp, oidn, process per image): {t_naive:7.1f} s  {n_img / t_naive * 3600:8.0f} images/hour", flush=True)
    have_ref = all((out / f"{len(cams) - 1:04d}.png").exists() for _, out in ref_jobs)
    if args.reuse_ref and have_ref:
        print("reference: reusing the renders in --keep", flush=True)
    else:
        t_ref = run_worker(ref_jobs)
        print(f"reference ({args.ref_samples} spp, no denoiser): {t_ref:.1f} s", flush=True)

    p = {"ours": [], "naive": [], "ours_obj": [], "naive_obj": []}
    for objs, name in shapes:
        for c in range(len(cams)):
            ref = np.array(Image.open(root / "ref" / name / f"{c:04d}.png"))
            mask = np.array(Image.open(root / "ref" / name / f"{c:04d}_index.png")) > 0
            ours = np.array(Image.open(root / "ours" / name / f"{c:04d}.png"))
            naive = np.array(Image.open(root / "naive" / f"{name}_{c}" / "0000.png"))
            p["ours"].append(psnr(ours, ref))
            p["naive"].append(psnr(naive, ref))
            p["ours_obj"].append(psnr(ours, ref, mask))
            p["naive_obj"].append(psnr(naive, ref, mask))
    m = {k: float(np.mean(v)) for k, v in p.items()}
    c_ours, c_naive = float(np.median(CPU["ours"])), float(np.median(CPU["naive"]))
    print(f"speed-up ours/naive: {t_naive / t_ours:.2f}x wall; {c_naive / c_ours:.2f}x CPU time ({c_ours:.1f} s vs {c_naive:.1f} s); "
          f"{t_naive / t_warm:.2f}x wall with ours' worker already running")
    print(f"PSNR vs reference, whole image: ours {m['ours']:.2f} dB, naive {m['naive']:.2f} dB, difference {m['ours'] - m['naive']:+.2f} dB")
    print(f"PSNR vs reference, object pixels: ours {m['ours_obj']:.2f} dB, naive {m['naive_obj']:.2f} dB, difference {m['ours_obj'] - m['naive_obj']:+.2f} dB")


if __name__ == "__main__":
    main()
