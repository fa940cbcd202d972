"""Contact sheet of the built-in procedural materials: one row per substance, one column per
library material (``<substance>_000``, ``_001``, ...), each on a sphere (Cycles, CPU).

    python benchmarks/materials_sheet.py --out /tmp/materials.png --cols 4 --size 96 --samples 16
    python benchmarks/materials_sheet.py --textures /data/ambientcg   # + one row of texture folders

Blender runs in a subprocess (``blender_scripts.material_preview.render_spheres``); this process only
plans, then pastes the tiles with Pillow and prints the render time per tile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datagen.spec import Material  # noqa: E402
from datagen.seeding import rng_for  # noqa: E402
from materials.presets import SUBSTANCES, builtin_library  # noqa: E402
from materials.variation import sample_variation  # noqa: E402

_CHILD = """
import json, sys
from datagen.spec import Material
from blender_scripts.material_preview import render_spheres
job = json.load(open(sys.argv[1]))
items = [(Material(**m), n) for m, n in job["items"]]
render_spheres(items, job["out_dir"], job["size"], job["samples"], job.get("denoise", True))
"""


def render_tiles(items, out_dir, size=96, samples=16, denoise=True, timeout=600) -> list[Path]:
    """items: [(Material, seed, file name)] -> PNG paths, rendered in a Blender subprocess.
    The seed places each procedural pattern (``materials.variation``), drawn here in Python."""
    job = {
        "items": [[dataclasses.asdict(dataclasses.replace(m, variation=sample_variation(m, rng_for("sheet", int(s))))), n]
                  for m, s, n in items],
        "out_dir": str(out_dir), "size": size, "samples": samples, "denoise": denoise,
    }
    job_path = Path(out_dir) / "job.json"
    job_path.write_text(json.dumps(job))
    r = subprocess.run([sys.executable, "-c", _CHILD, str(job_path)], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"Blender subprocess failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return [Path(out_dir) / n for _, _, n in items]


def contact_sheet(rows: list[tuple[str, list[Path]]], size: int) -> Image.Image:
    label_w = 70
    cols = max(len(t) for _, t in rows)
    sheet = Image.new("RGB", (label_w + cols * size, len(rows) * size), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (label, tiles) in enumerate(rows):
        draw.text((4, r * size + size // 2 - 6), label, fill=(0, 0, 0))
        for c, t in enumerate(tiles):
            with Image.open(t) as im:
                sheet.paste(im.convert("RGB"), (label_w + c * size, r * size))
    return sheet


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/materials.png")
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="library seed")
    ap.add_argument("--textures", default=None, help="a texture library root: adds a row of its folders")
    a = ap.parse_args(argv)
    lib = builtin_library(len(SUBSTANCES) * a.cols, a.seed)
    plan: list[tuple[str, list[tuple[Material, int, str]]]] = []
    for s in SUBSTANCES:
        mats = [m for m in lib if m.params["substance"] == s][: a.cols]
        plan.append((s, [(m, k, f"{m.name}.png") for k, m in enumerate(mats)]))
    if a.textures:
        from materials.textures import scan_texture_library

        tex = scan_texture_library(a.textures)[: a.cols]
        plan.append(("textures", [(m, 0, f"tex_{k}.png") for k, m in enumerate(tex)]))
    items = [it for _, its in plan for it in its]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        render_tiles(items, tmp, a.size, a.samples)
        dt = time.perf_counter() - t0
        rows = [(label, [Path(tmp) / n for _, _, n in its]) for label, its in plan]
        contact_sheet(rows, a.size).save(a.out)
    print(f"{a.out}: {len(items)} tiles {a.size}x{a.size} @ {a.samples} spp in {dt:.1f} s "
          f"({dt / max(1, len(items)):.2f} s/tile incl. Blender start)")


if __name__ == "__main__":
    main()
