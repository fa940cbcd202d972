"""The validation report (``trainer.validate``): markdown tables and a PNG plot drawn with Pillow
(no plotting dependency): test AUROC against the number of training queries, and training loss
against steps."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLORS = {"query_only": (31, 119, 180), "cmt": (214, 39, 40), "cmt_no3dpe": (44, 160, 44),
          "cmt_novlfa": (148, 103, 189), "cmt_dense": (255, 127, 14)}


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{100 * x:.1f}"


def _header(title: str, report: dict) -> list[str]:
    """A report's title and its budget / device / start / duration line (markdown lines)."""
    cfg = report["config"]
    return [f"# {title}", "", f"Budget {cfg['budget_minutes']:.0f} min on `{cfg['device']}`; started "
            f"{report.get('started')}; took {report.get('seconds', 0) / 60:.1f} min.", ""]


def report_markdown(report: dict) -> str:
    """The report as markdown: dataset, one row per run, per-type accuracy, the learning curve, a verdict."""
    cfg, ds = report["config"], report.get("dataset", {})
    lines = _header(f"Validation report ({cfg['difficulty']} difficulty)", report)
    if "queries" in ds:
        lines += [f"Dataset `{ds.get('path')}`: {ds['queries']} queries from {ds['shapes_rendered']} of "
                  f"{ds['shapes_planned']} planned shapes at {cfg['resolution']} px, rendered in {ds['seconds'] / 60:.1f} min "
                  f"({ds['queries_per_hour']} queries/hour); by type: {ds['counts'].get('by_type')}; "
                  f"by split: {ds['counts'].get('by_split')}.", ""]
    else:
        lines += [f"Dataset `{ds.get('path')}` (given).", ""]
    lines += ["| run | train queries | epochs | samples/s | train AUROC | test AUROC | test accuracy |",
              "|---|---|---|---|---|---|---|"]
    for r in report.get("runs", []):
        lines.append(f"| {r['name']} ({r['share']:.0%}) | {r['train_queries']} | {r['epochs']} | {r['samples_per_s']} | "
                     f"{_pct(r['train']['auroc'])} | {_pct(r['test']['auroc'])} | {_pct(r['test']['accuracy'])} |")
    full = [r for r in report.get("runs", []) if r["share"] >= 1]
    types = sorted({t for r in full for t in r["test"]["per_type"]})
    if types:
        lines += ["", "Test accuracy per anomaly type (%, n):", "",
                  "| run | " + " | ".join(types) + " |", "|---|" + "---|" * len(types)]
        for r in full:
            pt = r["test"]["per_type"]
            lines.append(f"| {r['name']} | " + " | ".join(
                f"{_pct(pt[t]['accuracy'])} ({pt[t]['n']})" if t in pt else "-" for t in types) + " |")
    lines += ["", "Learning curve (test AUROC against training queries):", ""]
    for model in ("query_only", "cmt"):
        pts = sorted((r["train_queries"], r["test"]["auroc"]) for r in report.get("runs", []) if r["name"] == model)
        if pts:
            lines.append(f"- {model}: " + ", ".join(f"{n} -> {_pct(a)}" for n, a in pts))
    q = next((r for r in full if r["name"] == "query_only"), None)
    c = next((r for r in full if r["name"] == "cmt"), None)
    if q and c and q["test"]["auroc"] is not None and c["test"]["auroc"] is not None:
        d = 100 * (c["test"]["auroc"] - q["test"]["auroc"])
        lines += ["", f"CMT - query-only on unseen shapes: {d:+.1f} AUROC points "
                  f"(target: CMT >= 70 and >= query-only + 5)."]
    lines += ["", "![curves](report.png)", ""]
    return "\n".join(lines)


def _font(size: int):
    try:
        return ImageFont.load_default(size)
    except TypeError:  # old Pillow
        return ImageFont.load_default()


def _axes(draw, box, xr, yr, xlabel, ylabel, logx, font):
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(0, 0, 0))
    draw.text((x0, y1 + 18), xlabel, fill=(0, 0, 0), font=font)
    draw.text((x0, y0 - 18), ylabel, fill=(0, 0, 0), font=font)

    def tx(v):
        a, b = (math.log10(xr[0]), math.log10(xr[1])) if logx else xr
        v = math.log10(max(v, 1e-9)) if logx else v
        return x0 + (v - a) / max(b - a, 1e-9) * (x1 - x0)

    def ty(v):
        return y1 - (v - yr[0]) / max(yr[1] - yr[0], 1e-9) * (y1 - y0)

    for k in range(5):
        v = yr[0] + k * (yr[1] - yr[0]) / 4
        draw.text((x0 - 40, ty(v) - 6), f"{v:.2f}", fill=(60, 60, 60), font=font)
        draw.line([(x0, ty(v)), (x0 + 4, ty(v))], fill=(0, 0, 0))
    for k in range(5):
        v = (10 ** (math.log10(xr[0]) + k * (math.log10(xr[1]) - math.log10(xr[0])) / 4)) if logx else xr[0] + k * (xr[1] - xr[0]) / 4
        draw.text((tx(v) - 14, y1 + 4), f"{v:.0f}", fill=(60, 60, 60), font=font)
    return tx, ty


def plot(report: dict, path) -> Path:
    """report.png: left, test AUROC vs training queries (log x) per model; right, training loss vs step."""
    W, H, font = 1000, 420, _font(13)
    img = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    runs = report.get("runs", [])
    left, right = (70, 40, 470, 360), (570, 40, 970, 360)
    pts = [(r["train_queries"], r["test"]["auroc"]) for r in runs if r["test"]["auroc"] is not None and r["train_queries"]]
    if pts:
        xr = (min(p[0] for p in pts) * 0.8, max(p[0] for p in pts) * 1.25)
        tx, ty = _axes(draw, left, xr, (0.4, 1.0), "training queries (log)", "test AUROC", True, font)
        draw.line([(left[0], ty(0.5)), (left[2], ty(0.5))], fill=(180, 180, 180))
        for name in COLORS:
            p = sorted((r["train_queries"], r["test"]["auroc"]) for r in runs if r["name"] == name and r["test"]["auroc"] is not None)
            xy = [(tx(n), ty(max(0.4, min(1.0, a)))) for n, a in p]
            if len(xy) > 1:
                draw.line(xy, fill=COLORS[name], width=2)
            for x, y in xy:
                draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=COLORS[name])
    curves = {r["name"]: r["curve"] for r in runs if r["share"] >= 1 and r["curve"]}
    if curves:
        steps = [c["step"] for cs in curves.values() for c in cs if "loss" in c]
        losses = [c["loss"] for cs in curves.values() for c in cs if "loss" in c]
        if steps:
            tx, ty = _axes(draw, right, (0, max(steps)), (0, max(losses) * 1.05), "step", "training loss", False, font)
            for name, cs in curves.items():
                xy = [(tx(c["step"]), ty(c["loss"])) for c in cs if "loss" in c]
                if len(xy) > 1:
                    draw.line(xy, fill=COLORS.get(name, (0, 0, 0)), width=2)
    for k, (name, col) in enumerate(COLORS.items()):
        draw.rectangle([70 + 170 * k, 395, 82 + 170 * k, 407], fill=col)
        draw.text((88 + 170 * k, 393), name, fill=(0, 0, 0), font=font)
    path = Path(path)
    img.save(path)
    return path


def scenes_markdown(report: dict) -> str:
    """The Odd-One-Out validation report: dataset, then per run the object-level scores per test split,
    with predicted instances (the paper's protocol) and with ground-truth instances."""
    cfg, ds = report["config"], report.get("dataset", {})
    lines = _header(f"Odd-One-Out validation report ({cfg['preset']})", report)
    if "scenes" in ds:
        lines += [f"Dataset `{ds['path']}`: {ds['scenes']} scenes ({ds['scenes_tried']} planned scenes tried; dropped or "
                  f"refused ones are not written) at {cfg['resolution']} px, {cfg['views']} views, rendered in "
                  f"{ds['seconds'] / 60:.1f} min ({ds['scenes_per_hour']} scenes/hour); by type: "
                  f"{ds['counts'].get('by_type')}; by split: {ds['counts'].get('by_split')}.", ""]
    lines += ["| run | split | scenes | objects (anomalous) | AUROC | accuracy | AUROC (GT inst.) | accuracy (GT inst.) | "
              "instances found | mean 3D IoU |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report.get("runs", []):
        for split, m in [("train", r["train"])] + list(r["tests"].items()):
            lines.append(f"| {r['name']} | {split} | {m.get('n_scenes')} | {m.get('n_objects')} ({m.get('n_anomalous')}) | "
                         f"{_pct(m.get('auroc'))} | {_pct(m.get('accuracy'))} | {_pct(m.get('auroc_gt'))} | "
                         f"{_pct(m.get('accuracy_gt'))} | {_pct(m.get('recall'))} | "
                         f"{'-' if m.get('mean_iou') is None else round(m['mean_iou'], 2)} |")
    for r in report.get("runs", []):
        lines += ["", f"{r['name']}: {r['train_scenes']} training scenes, {r['steps']} steps ({r['epochs']} epochs) in "
                  f"{r['seconds'] / 60:.1f} min, {r['scenes_per_s']} scenes/s."]
    return "\n".join(lines) + "\n"
