"""A stand-in for ``python -m blender_scripts.worker`` (same JSON-lines protocol, no Blender).

It "renders" a SceneSpec with a small numpy z-buffer rasterizer: exact planar depth and
pass indices, a flat-shaded colour (pass index hue * Lambert term), white background,
no ground. Test hooks in ``spec.meta``: ``fake_crash`` (os._exit(1)), ``fake_hang``
(sleeps forever), ``fake_fail`` (answers ok: false); the same for the jobs whose ``meta["job"]``
is listed (comma-separated) in ``FAKE_CRASH_JOBS`` / ``FAKE_HANG_JOBS`` / ``FAKE_FAIL_JOBS``.
When a job listed in ``FAKE_KILL_PARENT_JOBS`` is rendered, the worker kills its parent (SIGKILL: a
lost executor process, e.g. a Ray actor on a dead node) and then itself: every time, or only the
first time when ``FAKE_KILL_PARENT_DIR`` names a folder for the files that say "already done once".
A file named by the environment variable ``FAKE_WORKER_LOG`` gets one line per request (pid + spec path).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.shapes.objio import read_obj  # noqa: E402
from datagen.spec import SceneSpec, view_name  # noqa: E402


def rasterize(tris_cam: np.ndarray, ids: np.ndarray, K: np.ndarray, W: int, H: int):
    """tris_cam : (n, 3, 3) camera-frame triangles; ids : (n,) -> depth (H, W) f32, index (H, W) u16, shade (H, W)."""
    depth = np.full((H, W), np.inf)
    index = np.zeros((H, W), np.uint16)
    shade = np.zeros((H, W))
    z = tris_cam[..., 2]
    ok = (z > 1e-6).all(1)
    tris_cam, ids = tris_cam[ok], ids[ok]
    uv = (tris_cam @ K.T)[..., :2] / tris_cam[..., 2:3]
    n = np.cross(tris_cam[:, 1] - tris_cam[:, 0], tris_cam[:, 2] - tris_cam[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    lam = np.abs(n[:, 2]) * 0.7 + 0.3
    for t in range(len(tris_cam)):
        p = uv[t]
        x0, x1 = int(max(np.floor(p[:, 0].min()), 0)), int(min(np.ceil(p[:, 0].max()), W))
        y0, y1 = int(max(np.floor(p[:, 1].min()), 0)), int(min(np.ceil(p[:, 1].max()), H))
        if x0 >= x1 or y0 >= y1:
            continue
        xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
        (ax, ay), (bx, by), (cx, cy) = p
        den = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        if abs(den) < 1e-12:
            continue
        w0 = ((by - cy) * (xs - cx) + (cx - bx) * (ys - cy)) / den
        w1 = ((cy - ay) * (xs - cx) + (ax - cx) * (ys - cy)) / den
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        zt = tris_cam[t, :, 2]
        zz = 1.0 / (w0 / zt[0] + w1 / zt[1] + w2 / zt[2])  # perspective-correct planar z
        sub = depth[y0:y1, x0:x1]
        win = inside & (zz < sub)
        sub[win] = zz[win]
        index[y0:y1, x0:x1][win] = ids[t]
        shade[y0:y1, x0:x1][win] = lam[t]
    depth[~np.isfinite(depth)] = 0
    return depth.astype(np.float32), index, shade


def render(spec_path: str, out: str, spec_dir: str | None = None) -> list[dict]:
    spec = SceneSpec.load(spec_path)
    meta = dict(spec.meta)
    job = meta.get("job")
    for key, env in (("fake_crash", "FAKE_CRASH_JOBS"), ("fake_hang", "FAKE_HANG_JOBS"), ("fake_fail", "FAKE_FAIL_JOBS")):
        if job is not None and job in os.environ.get(env, "").split(","):
            meta[key] = True
    if job is not None and job in os.environ.get("FAKE_KILL_PARENT_JOBS", "").split(","):
        once = os.environ.get("FAKE_KILL_PARENT_DIR")
        mark = None if once is None else Path(once) / (job.replace("/", "__") + ".killed")
        if mark is None or not mark.exists():
            if mark is not None:
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.touch()
            os.kill(os.getppid(), signal.SIGKILL)
            os._exit(1)
    if meta.get("fake_crash"):
        os._exit(1)
    if meta.get("fake_hang"):
        time.sleep(3600)
    if meta.get("fake_fail"):
        raise RuntimeError("fake failure requested")
    base = Path(spec_dir) if spec_dir else Path(spec_path).resolve().parent
    tris, ids = [], []
    for o in spec.objects:
        d = read_obj(spec.resolve_mesh(o, base))
        v = d.vertices @ o.pose[:3, :3].T + o.pose[:3, 3]
        tris.append(v[d.faces])
        ids.append(np.full(len(d.faces), o.pass_index))
    tris = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    ids = np.concatenate(ids) if ids else np.zeros(0, int)
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    views = []
    for c, cam in enumerate(spec.cameras):
        R, t = cam.world_to_camera[:3, :3], cam.world_to_camera[:3, 3]
        depth, index, shade = rasterize(tris @ R.T + t, ids, cam.K, cam.width, cam.height)
        name = view_name(c)
        files = {}
        s = spec.settings
        if "rgb" in s.passes:
            hue = (index.astype(np.float64) * 0.37) % 1.0
            col = np.stack([0.5 + 0.5 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], -1) * shade[..., None]
            col[index == 0] = 1.0
            img = (col * 255).round().astype(np.uint8)
            if s.grayscale:
                img = img.mean(-1).round().astype(np.uint8)
            Image.fromarray(img).save(outp / f"{name}.png")
            files["rgb"] = str(outp / f"{name}.png")
        if "depth" in s.passes:
            np.save(outp / f"{name}_depth.npy", depth)
            files["depth"] = str(outp / f"{name}_depth.npy")
        if "index" in s.passes:
            Image.fromarray(index).save(outp / f"{name}_index.png")
            files["index"] = str(outp / f"{name}_index.png")
        views.append({"view": c, **files})
    return views


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def main() -> int:
    log = os.environ.get("FAKE_WORKER_LOG")
    print("fake worker noise on stdout (a real Blender prints too)", flush=True)
    jobs = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if log:
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {req.get('spec', req.get('cmd'))}\n")
        if req.get("cmd") == "exit":
            print(json.dumps({"ok": True, "bye": True}), flush=True)
            return 0
        if req.get("cmd") == "ping":
            print(json.dumps({"ok": True, "pong": True, "pid": os.getpid()}), flush=True)
            continue
        t = time.perf_counter()
        try:
            views = render(req["spec"], req["out"], req.get("spec_dir"))
            jobs += 1
            reply = {"ok": True, "views": views, "seconds": time.perf_counter() - t, "rss_mb": rss_mb(), "jobs": jobs}
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": ""}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
