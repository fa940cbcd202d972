"""Conformance check of a BrokenChairs-180K (Looking 3D) layout: what the released-layout notes
(shared/reference/released_layouts.md, section A) require, read off the files, on every query
image, annotation and reference shape of an export (ours or anyone's, the release included).

    report = check_looking3d("bc_like/")
    report.failed            # failed [L] / [M] checks; 0 = the official loader and model get what they expect
    print("\\n".join(report.lines()))

Tags as in the notes: [L] read by the official loader (``data/dataset_e2e.py``): a failure crashes it
or silently drops samples; [M] assumed by the official model or training code: it loads and trains
on something else; [R] in the release, ignored by the code: a difference is a note, not a failure.
Each check runs once per item it names; ``Report.lines()`` lists the failing ones by name:

  root            L  the root path holds no '/images/', '/render_', '.png' (the loader rewrites them)
  split           L  split.json: an object, "train" and "test" lists of string ids (ints never match)
  split-val, split-disjoint  R  a "val" list; no shape in two splits
  split-images    L  train and test each select an image (else RandomSampler: num_samples=0)
  test-labels     M  the test split holds normal and anomalous images (evaluate.py's metrics)
  name            L  per images/*/* entry: a file named render_<sid>_...png (split('_')[1], info path)
  name-label, name-split  R  ends _normal.png / _anomaly.png; its shape is in a split
  image-read      L  per image: readable as colour
  image-square, image-background  M  square; white background (the model's mask: gray < 230 is object)
  image-512       R  512 x 512
  bbox            L  per anomaly: info_<name>.json with a 2d_bbox the loader's YOLO checks accept
  bbox-crop       M  the box survives the loader's random 224 crop in most epochs
  info-keys, info-type, masks  R  IoU, camera_parameters, texture_id, config.type a release word;
                     mask_new (and mask_old unless missing) binary at the image size
  shape-found     L  per shape id of an image in a split: shapes/shape_<sid>/mv_images/ exists
  shape-views     L  per shape folder: >= 2 views
  views-20, model-id, mv-extra  R  20 (21) views; model_id.txt; nothing but <stem>.png / .npy / .json
                     (and <stem>_depth.npy) in mv_images/
  mv-files        L  every PNG in mv_images/ has its .npy (the loader draws every PNG as a view)
  view-read, view-arrays  L  per view: PNG and .npy readable (without running pickled code); square;
                     a dict with is_visible (P,) bool, pxy (P, 2), xyz (32, 32, 3), all finite
  views-alike     L  one image size and one P per shape (views are stacked, is_visible ANDed)
  covisible       L  the loader's 11 random view pairs all share < 32 visible points with a chance
                     under 1e-3 (``looking3d_layout.covisible_miss``; else the sample is None)
  view-256, view-background  M  256 x 256 (pxy / xyz are defined there); white background
  pxy, pxy-on-object, xyz-on-object  M  integer pxy inside [0, 256] where visible, on object pixels;
                     foreground xyz cells (pixel (8r, 8c)) on object pixels
  xyz-projection  M  with the view JSON: K @ RT[:3] takes each xyz cell to (8r, 8c) (row v, col 256 - u)
  view-gray, view-json  R  R = G = B; K, RT, RT_ (= RT^-1)
"""

from __future__ import annotations

import glob
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.errors import InputError
from datagen.io import read_json
import datagen.export.looking3d_layout as L
from datagen.safe_npy import load_npy_dict

WHITE = 230  # the model's foreground mask is gray < 0.8 on the [-1, 1] image: pixel < 229.5 is object
BORDER_WHITE = 0.5  # a query's outer ring must be at least this share white (shadows may reach it)
VIEW_BORDER_WHITE = 0.9  # a reference view's outer ring (no floor, no shadows)
ON_OBJECT = 0.95  # share of visible pxy / foreground xyz cells that must land on object pixels
CROP, RESIZED = 224, 256  # the loader's random crop of the 256 x 256 resize
RELEASE_VIEWS = (20, 21)
RELEASE_WORDS = tuple(L.TYPE_WORDS.values())


@dataclass(frozen=True)
class Finding:
    tag: str  # "L", "M" or "R"
    check: str
    where: str  # path relative to the root
    problem: str


@dataclass
class Report:
    """Counts of checks run per (tag, check) and the findings; [R] findings are notes."""

    root: str
    checks: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)
    items: Counter = field(default_factory=Counter)  # images, annotations, shapes seen

    def check(self, tag: str, name: str, where: str, problem: str | None) -> bool:
        self.checks[(tag, name)] += 1
        if problem:
            self.findings.append(Finding(tag, name, where, problem))
        return not problem

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.tag != "R"]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.tag == "R"]

    @property
    def failed(self) -> int:
        return len(self.failures)

    def lines(self, examples: int = 3) -> list[str]:
        """A summary line, then per failing (tag, check): how many items failed, and the first ``examples``."""
        n = sum(self.checks.values())
        what = ", ".join(f"{v} {k}" for k, v in self.items.items())
        out = [f"check looking3d {self.root}: {n} checks ({what}): {n - len(self.findings)} passed, "
               f"{self.failed} failed, {len(self.notes)} notes [R]"]
        groups: dict = {}
        for f in self.findings:
            groups.setdefault((f.tag, f.check), []).append(f)
        for (tag, name), fs in sorted(groups.items(), key=lambda kv: ("LMR".index(kv[0][0]), kv[0][1])):
            word = "NOTE" if tag == "R" else "FAIL"
            out.append(f"{word} [{tag}] {name}: {len(fs)} of {self.checks[(tag, name)]}")
            out += [f"  {f.where}: {f.problem}" for f in fs[:examples]]
            if len(fs) > examples:
                out.append(f"  ... {len(fs) - examples} more")
        return out


# --- small helpers -----------------------------------------------------------------------------------
def _gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float luminance, torchvision's rgb_to_grayscale weights."""
    return rgb[..., 0] * 0.2989 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _ring(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _white_border(rgb: np.ndarray, share: float) -> str | None:
    white = float((_ring(_gray(rgb)) >= WHITE).mean())
    if white < share:
        return (f"background not white: {100 * (1 - white):.0f} % of the outer pixel ring is darker than {WHITE} "
                "(the model's foreground mask counts it as object)")
    return None


def _rgb(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _finite_numbers(v, n: int) -> bool:
    return (isinstance(v, (list, tuple)) and len(v) == n
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v))


def crop_drop_chance(box) -> float:
    """Chance that the loader's random 224 crop of the 256-px resize drops ``box`` ([x, y, w, h], 512
    frame): the crop offset is uniform in 0..32 on each axis; a box with no area left is dropped."""
    x, y, w, h = (float(v) * RESIZED / L.BOX_FRAME for v in box)
    o = np.arange(RESIZED - CROP + 1)
    keep_x = (np.minimum(x + w, o + CROP) - np.maximum(x, o) > 0).mean()
    keep_y = (np.minimum(y + h, o + CROP) - np.maximum(y, o) > 0).mean()
    return float(1 - keep_x * keep_y)


def _on_object(gray: np.ndarray, rc: np.ndarray) -> float:
    """Share of (row, col) positions with an object pixel (< WHITE) in their 3 x 3 neighbourhood."""
    if len(rc) == 0:
        return 1.0
    H, W = gray.shape
    r, c = np.clip(rc[:, 0], 0, H - 1), np.clip(rc[:, 1], 0, W - 1)
    near = np.min([gray[np.clip(r + dr, 0, H - 1), np.clip(c + dc, 0, W - 1)]
                   for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
    return float((near < WHITE).mean())


# --- the root and the splits ------------------------------------------------------------------------
def _splits(rep: Report, root: Path) -> dict:
    for p in (str(root), str(root.resolve())):
        bad = [b for b in ("/images/", "/render_", ".png") if b in p + "/"]
        if bad:
            rep.check("L", "root", ".", f"the root path {p} contains {bad[0]!r}, which the loader rewrites in paths")
            break
    else:
        rep.check("L", "root", ".", None)
    try:
        split = read_json(root / "split.json")
    except InputError as e:
        rep.check("L", "split", "split.json", f"unreadable: {e}")
        return {}
    if not isinstance(split, dict):
        rep.check("L", "split", "split.json", "not a JSON object")
        return {}
    problem = None
    for k in ("train", "test"):
        v = split.get(k)
        if not isinstance(v, list):
            problem = problem or f"no {k!r} list (the official get_dataloaders builds train and test)"
        elif any(not isinstance(s, str) for s in v):
            problem = problem or f"{k!r} holds non-string ids (the loader compares file-name strings: they never match)"
    rep.check("L", "split", "split.json", problem)
    lists = {k: v for k, v in split.items() if isinstance(v, list)}
    rep.check("R", "split-val", "split.json", None if isinstance(split.get("val"), list) else "no 'val' list")
    seen: Counter = Counter(s for v in lists.values() for s in set(map(str, v)))
    shared = sorted(s for s, n in seen.items() if n > 1)
    rep.check("R", "split-disjoint", "split.json", f"shapes in several splits: {shared[:5]}" if shared else None)
    return {k: {s for s in v if isinstance(s, str)} for k, v in lists.items()}


# --- query images and annotations ---------------------------------------------------------------------
def _annotation(rep: Report, root: Path, path: str, size: tuple[int, int]) -> None:
    rel = os.path.relpath(path, root)
    rep.items["annotations"] += 1
    info_path = path.replace("/images/", "/annotations/").replace("/render_", "/info_").replace(".png", ".json")
    try:
        info = read_json(info_path)
        box = info["2d_bbox"]
        problem = None if _finite_numbers(box, 4) else f"2d_bbox {box!r} is not 4 finite numbers"
        problem = problem or L.box_problem(box)
    except (InputError, ValueError, KeyError, TypeError) as e:
        info, problem = None, f"{os.path.relpath(info_path, root)}: {type(e).__name__}: {e}"
    if not rep.check("L", "bbox", rel, problem):
        return
    drop = crop_drop_chance(box)
    rep.check("M", "bbox-crop", rel, f"2d_bbox {box} is dropped by the random 224 crop in {100 * drop:.0f} % of "
                                      "epochs (the sample is then None)" if drop >= 0.5 else None)
    cfg = info.get("config") if isinstance(info.get("config"), dict) else {}
    missing = [k for k in ("IoU", "camera_parameters", "texture_id") if k not in info]
    missing += [] if "type" in cfg else ["config.type"]
    rep.check("R", "info-keys", rel, f"info JSON without {', '.join(missing)}" if missing else None)
    word = cfg.get("type")
    rep.check("R", "info-type", rel, None if word in RELEASE_WORDS or word is None
              else f"config.type {word!r} is not a release word ({', '.join(RELEASE_WORDS)})")
    folder, stem = os.path.dirname(info_path), os.path.basename(info_path)[len("info_"):-len(".json")]
    for kind in ("new", "old") if word != "missing" else ("new",):
        m = os.path.join(folder, f"mask_{kind}_{stem}.png")
        try:
            with Image.open(m) as im:
                a = np.asarray(im.convert("L"))
            problem = (f"mask_{kind} is {a.shape[1]}x{a.shape[0]}, the image {size[0]}x{size[1]}"
                       if a.shape[::-1] != size
                       else f"mask_{kind} is not 0/255" if not np.isin(a, (0, 255)).all()
                       else f"mask_{kind} is empty" if kind == "new" and not a.any() else None)
        except OSError as e:
            problem = f"mask_{kind}: {e}"
        rep.check("R", "masks", rel, problem)


def _images(rep: Report, root: Path, splits: dict) -> set:
    """Check every images/*/* entry; returns the shape ids the loader would look up."""
    used: Counter = Counter()
    labels: dict = {}
    needed = set()
    for path in sorted(glob.glob(f"{root}/images/*/*")):
        rel, name = os.path.relpath(path, root), os.path.basename(path)
        rep.items["images"] += 1
        fields = name.split("_")
        problem = ("not a file" if not os.path.isfile(path)
                   else "no '_' in the name (the loader's split('_')[1] raises IndexError for every split)"
                   if len(fields) < 2
                   else "not render_<...>.png (the annotation path is derived from it)"
                   if not (name.startswith("render_") and name.endswith(".png")) else None)
        if not rep.check("L", "name", rel, problem):
            continue
        anomalous = "anomaly" in name
        rep.check("R", "name-label", rel, None if name.endswith("_anomaly.png" if anomalous else "_normal.png")
                  else "does not end _normal.png / _anomaly.png")
        sid = fields[1]
        modes = [m for m, ids in splits.items() if sid in ids]
        rep.check("R", "name-split", rel, None if modes else f"shape {sid!r} is in no split: never read")
        for m in modes:
            used[m] += 1
            labels.setdefault(m, set()).add(int(anomalous))
        if modes:
            needed.add(sid)
        try:
            rgb = _rgb(path)
        except OSError as e:
            rep.check("L", "image-read", rel, f"unreadable: {e}")
            continue
        rep.check("L", "image-read", rel, None)
        h, w = rgb.shape[:2]
        rep.check("M", "image-square", rel, None if h == w else
                  f"{w}x{h} is not square (the loader squashes it to 256 x 256)")
        rep.check("M", "image-background", rel, _white_border(rgb, BORDER_WHITE))
        rep.check("R", "image-512", rel, None if (w, h) == (L.BOX_FRAME,) * 2 else f"{w}x{h}, the release is 512 x 512")
        if anomalous:
            _annotation(rep, root, path, (w, h))
    for m in ("train", "test"):
        if m in splits:
            rep.check("L", "split-images", m, None if used[m] else
                      f"split {m!r} selects no image (RandomSampler: num_samples=0)")
    if "test" in splits and used["test"]:
        rep.check("M", "test-labels", "test", None if labels["test"] == {0, 1} else
                  "test holds one label only (evaluate.py's confusion matrix and ROC need both)")
    return needed


# --- reference shapes ---------------------------------------------------------------------------------
def _view(rep: Report, root: Path, png: Path) -> dict | None:
    """Check one view; returns {"P", "vis", "size"} for the shape-level checks, or None when unusable."""
    rel = os.path.relpath(png, root)
    try:
        rgb = _rgb(str(png))
        d = load_npy_dict(png.with_suffix(".npy"))
        vis, pxy, xyz = np.asarray(d["is_visible"]), np.asarray(d["pxy"]), np.asarray(d["xyz"])
    except (OSError, InputError, KeyError, TypeError, ValueError) as e:
        rep.check("L", "view-read", rel, f"{type(e).__name__}: {e}")
        return None
    h, w = rgb.shape[:2]
    P = len(vis) if vis.ndim == 1 else -1
    problem = (f"{w}x{h} is not square (views are stacked after Resize(256))" if h != w
               else f"is_visible {vis.dtype} {vis.shape} is not (P,) bool" if vis.dtype != bool or vis.ndim != 1
               else f"pxy {pxy.shape} is not (P, 2) with P = {P}" if pxy.shape != (P, 2)
               else f"xyz {xyz.shape} is not (32, 32, 3)" if xyz.shape != (L.GRID, L.GRID, 3)
               else "pxy or xyz not finite" if not (np.isfinite(pxy).all() and np.isfinite(xyz).all()) else None)
    if not rep.check("L", "view-arrays", rel, problem):
        return None
    rep.check("M", "view-256", rel, None if (w, h) == (L.VIEW_SIZE,) * 2 else
              f"{w}x{h}: pxy / xyz are defined on 256 x 256")
    rep.check("M", "view-background", rel, _white_border(rgb, VIEW_BORDER_WHITE))
    rep.check("R", "view-gray", rel, None if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
              else "not gray (R = G = B)")
    pv = pxy[vis]
    problem = ("pxy is not integer" if pxy.dtype.kind not in "iu"
               else "visible pxy outside [0, 256]" if len(pv) and (pv.min() < 0 or pv.max() > L.VIEW_SIZE) else None)
    rep.check("M", "pxy", rel, problem)
    gray = _gray(rgb) if (w, h) == (L.VIEW_SIZE,) * 2 else None
    if gray is not None and not problem:
        on = _on_object(gray, pv.astype(np.int64))
        rep.check("M", "pxy-on-object", rel, None if on >= ON_OBJECT else
                  f"{100 * (1 - on):.0f} % of the visible pxy (row, col) land on background pixels")
        fg = ~np.all(xyz == -1, axis=-1)
        cells = np.argwhere(fg) * L.STRIDE
        on = _on_object(gray, cells)
        rep.check("M", "xyz-on-object", rel, None if on >= ON_OBJECT else
                  f"{100 * (1 - on):.0f} % of the foreground xyz cells (pixel (8r, 8c)) are background pixels")
        _view_json(rep, root, png, xyz[fg], cells)
    return {"P": P, "vis": vis, "size": (w, h)}


def _view_json(rep: Report, root: Path, png: Path, points: np.ndarray, cells: np.ndarray) -> None:
    rel = os.path.relpath(png.with_suffix(".json"), root)
    try:
        j = read_json(png.with_suffix(".json"))
        K, RT, RT_ = (np.asarray(j[k], dtype=np.float64) for k in ("K", "RT", "RT_"))
        ok = K.shape == (3, 3) and RT.shape == RT_.shape == (4, 4) and np.allclose(RT @ RT_, np.eye(4), atol=1e-6)
        problem = None if ok else "K not 3x3, or RT / RT_ not 4x4 inverses"
    except (InputError, ValueError, KeyError, TypeError) as e:
        K = RT = None
        problem = f"{type(e).__name__}: {e}"
    if not rep.check("R", "view-json", rel, problem) or not len(points):
        return
    uvw = (K @ RT[:3]) @ np.c_[points, np.ones(len(points))].T
    with np.errstate(divide="ignore", invalid="ignore"):
        rc = np.stack([uvw[1] / uvw[2], L.VIEW_SIZE - uvw[0] / uvw[2]], axis=1)
    err = np.abs(rc - cells).max(axis=1)
    bad = float((~(err <= 2.0)).mean())
    rep.check("M", "xyz-projection", os.path.relpath(png, root), None if bad <= 1 - ON_OBJECT else
              f"{100 * bad:.0f} % of the xyz cells do not project to their pixel (8r, 8c) with K @ RT "
              "(row = v, col = 256 - u)")


def _shape(rep: Report, root: Path, folder: Path) -> None:
    rel = os.path.relpath(folder, root)
    rep.items["shapes"] += 1
    mv = folder / "mv_images"
    pngs = sorted(mv.glob("*.png")) if mv.is_dir() else []
    stems = {p.stem for p in pngs}
    orphans = [p.name for p in pngs if not p.with_suffix(".npy").is_file()]
    rep.check("L", "mv-files", rel, f"PNGs without a .npy (drawn as views, their .npy read): {orphans[:3]}"
              if orphans else None)
    other = [p.name for p in (mv.iterdir() if mv.is_dir() else []) if not (
        (p.suffix in (".png", ".npy", ".json") and p.stem in stems)
        or (p.name.endswith("_depth.npy") and p.name[:-len("_depth.npy")] in stems))]
    rep.check("R", "mv-extra", rel, f"files other than views: {sorted(other)[:3]}" if other else None)
    rep.check("L", "shape-views", rel, None if len(pngs) >= 2 else
              f"{len(pngs)} reference view(s); the loader draws 2 distinct ones")
    rep.check("R", "views-20", rel, None if len(pngs) in RELEASE_VIEWS else f"{len(pngs)} views; the release has 20 (21)")
    rep.check("R", "model-id", rel, None if (folder / "model_id.txt").is_file() else "no model_id.txt")
    views = [v for v in (_view(rep, root, p) for p in pngs if p.name not in orphans) if v is not None]
    if len(views) < 2:
        return
    sizes, Ps = {v["size"] for v in views}, {v["P"] for v in views}
    rep.check("L", "views-alike", rel, None if len(sizes) == 1 and len(Ps) == 1 else
              f"views differ in size {sorted(sizes)} or point count P {sorted(Ps)}")
    if len(Ps) != 1:
        return
    bad, miss = L.covisible_miss([v["vis"] for v in views])
    rep.check("L", "covisible", rel, None if miss <= L.MAX_MISS else
              f"{100 * bad:.0f} % of view pairs share < {L.MIN_COVISIBLE} visible points: the loader's "
              f"{L.LOADER_TRIES} draws all miss with chance {miss:.2g} (the sample is None)")


def check_looking3d(root) -> Report:
    """Run every check on the BrokenChairs-180K layout at ``root`` (see the module doc). Never raises
    for what it finds: unreadable files are findings. InputError only when ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    rep = Report(str(root))
    splits = _splits(rep, root)
    needed = _images(rep, root, splits)
    shapes = root / "shapes"
    for sid in sorted(needed):
        rep.check("L", "shape-found", f"shapes/shape_{sid}", None if (shapes / f"shape_{sid}" / "mv_images").is_dir()
                  else "missing: the loader finds no views for its images")
    for folder in sorted(shapes.glob("shape_*")) if shapes.is_dir() else []:
        if folder.is_dir():
            _shape(rep, root, folder)
    return rep
