import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from datagen.commands.inspect import preview as preview_cmd
from datagen.dataset import preview as P
from datagen.dataset.reader import Dataset
from datagen.seeding import rng_for
from synth_dataset import build_dataset

SIZE, SCALE = 48, 3  # 48 px queries -> x3 nearest, 144 px cells
CELL = SIZE * SCALE


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    build_dataset(root, size=SIZE)
    return root


@pytest.fixture(scope="module")
def sheet(ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "preview.png"
    assert P.make_preview(ds, out, n=8, seed=0) == out
    return np.asarray(Image.open(out).convert("RGB"))


def _cell(sheet, row, col, h=CELL, w=CELL):
    x, y = P.cell_origin(row, col, CELL)
    return sheet[y:y + h, x:x + w]


def _inner(mask, k=2):
    """The mask eroded k times (4-neighbourhood): away from the 2 px bbox outline."""
    m = mask.copy()
    for _ in range(k):
        e = np.zeros_like(m)
        e[1:-1, 1:-1] = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
        m = e
    return m


def test_choice_covers_every_type_and_normals(ds):
    rows = Dataset(ds).rows()
    picked = P.choose_samples(rows, 8, rng_for("preview", 0))
    types = [r["anomaly_type"] or "normal" for r in picked]
    assert len(picked) == 8 and set(types) == {"position", "rotation", "broken", "swapped", "missing", "normal"}
    assert types == sorted(types, key=["position", "rotation", "broken", "swapped", "missing", "normal"].index)
    assert [r["id"] for r in P.choose_samples(rows, 8, rng_for("preview", 0))] == [r["id"] for r in picked]
    assert len(P.choose_samples(rows, 100, rng_for("preview", 0))) == len(rows)
    assert [r["anomaly_type"] for r in P.choose_samples(rows, 3, rng_for("preview", 0))] == ["position", "rotation", "broken"]


def test_sheet_size(sheet):
    rows = 8 + 1  # 8 queries + 1 scene
    width = 2 * P.MARGIN + 8 * CELL + 7 * P.GAP
    height = P.cell_origin(rows, 0, CELL)[1] - P.LABEL_H + P.MARGIN
    assert sheet.shape == (height, width, 3) == (1614, 1214, 3)


def test_cells_show_query_masks_bbox_parts_depth_references(ds, sheet):
    d = Dataset(ds)
    picked = P.choose_samples(d.rows(), 8, rng_for("preview", 0))
    checked = set()
    for i, row in enumerate(picked):
        s = d.sample(row["id"])
        up = lambda a: np.repeat(np.repeat(a, SCALE, 0), SCALE, 1)
        query, overlay = _cell(sheet, i, 0), _cell(sheet, i, 1)
        assert np.array_equal(query, up(s.rgb))  # nearest x3
        # parts colorized: background dark, part k -> PALETTE[k - 1]
        parts = _cell(sheet, i, 2)
        assert np.array_equal(parts, up(P.colorize_index(s.parts)))
        assert (parts[up(s.parts) == 2] == P.PALETTE[1]).all()
        depth = _cell(sheet, i, 3)
        assert (depth[up(s.depth) == 0] == 0).all() and (depth[up(s.depth) > 0].sum(-1) > 0).all()
        if s.label == 0:
            assert np.array_equal(overlay, query)
            continue
        new = up(s.mask_new)
        old = up(s.mask_old) if s.mask_old is not None else np.zeros_like(new)
        in_new, only_old = _inner(new), _inner(old & ~new)  # mask_new is drawn over mask_old
        assert in_new.any()
        red = overlay[in_new].astype(int)
        assert (red[:, 0] >= 150).all() and (red[:, 1] <= 110).all() and (red[:, 0] - red[:, 1] >= 60).all()
        if only_old.any():
            cyan = overlay[only_old].astype(int)
            assert (cyan[:, 0] <= 110).all() and (cyan[:, 1] >= 130).all() and (cyan[:, 2] >= 150).all()
            checked.add("cyan")
        # outside the masks and the bbox outline the overlay is the query
        x1, y1, x2, y2 = (v * SCALE for v in s.bbox)
        far = ~(new | old)
        far[max(0, y1 - 3):y2 + 3, max(0, x1 - 3):x2 + 3] = False
        assert np.array_equal(overlay[far], query[far])
        # bbox outline (yellow) at its corners
        assert tuple(overlay[y1, x1]) == P.BBOX_RGB and tuple(overlay[y2 - 1, x2 - 1]) == P.BBOX_RGB
        checked.add(row["anomaly_type"])
        # first reference view (gray, 32 px) scaled x4 (integer factor: 144 / 32 = 4.5 -> 4), centred
        ref = d.reference(s.meta["shape_id"])
        cell = _cell(sheet, i, 4)
        off = (CELL - 32 * 4) // 2
        got = cell[off:off + 128, off:off + 128]
        assert np.array_equal(got[..., 0], np.repeat(np.repeat(ref.images[0], 4, 0), 4, 1))
    assert checked == {"position", "rotation", "broken", "swapped", "missing", "cyan"}


def test_scene_row_marks_the_anomalous_object(ds, sheet):
    row, ncols = 8, 4 + P.N_REFS
    scene_dir = ds / "scenes" / "scene_0"
    inst = np.asarray(Image.open(scene_dir / "instances" / "0000.png")).astype(int)
    up = np.repeat(np.repeat(inst, SCALE, 0), SCALE, 1)
    # the instances cell: object 2 (anomalous) red, the others not
    cell = _cell(sheet, row, ncols - 2).astype(int)
    bad, good = cell[up == 2], cell[up == 1]
    assert (bad[:, 0] - bad[:, 1] > 100).all() and not (good[:, 0] - good[:, 1] > 100).any()
    # the first view: a red box around object 2, a green one around object 1
    view = _cell(sheet, row, 0).astype(int)
    ys, xs = np.nonzero(up == 2)
    assert tuple(view[ys.min(), xs.min()]) == P.ANOMALY_BOX
    ys, xs = np.nonzero(up == 1)
    assert tuple(view[ys.min(), xs.min()]) == P.NORMAL_BOX


def test_deterministic_split_and_cli(ds, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    P.make_preview(ds, a, n=4, seed=1, split="val", scenes=0)
    P.make_preview(ds, b, n=4, seed=1, split="val", scenes=0)
    assert a.read_bytes() == b.read_bytes()
    h = np.asarray(Image.open(a)).shape[0]
    assert h == P.cell_origin(2, 0, CELL)[1] - P.LABEL_H + P.MARGIN  # val holds 2 samples (shape C)
    out = tmp_path / "cli.png"
    r = CliRunner().invoke(preview_cmd, [str(ds), "--out", str(out), "-n", "3", "--seed", "2"])
    assert r.exit_code == 0, r.output
    assert out.is_file() and Image.open(out).size[0] == 2 * P.MARGIN + 8 * CELL + 7 * P.GAP
    assert not list(tmp_path.glob(".*.tmp"))
    r = CliRunner().invoke(preview_cmd, [str(ds), "--out", str(out), "--split", "nope", "--scenes", "0"])
    assert r.exit_code == 1 and "no samples in split nope" in r.output


def test_large_images_are_scaled_down_and_missing_files_are_marked(tmp_path):
    build_dataset(tmp_path, size=256, ref_size=64, scenes=False)
    (tmp_path / "samples" / "A_normal_0" / "depth.npy").unlink()
    out = P.make_preview(tmp_path, tmp_path / "p.png", n=20)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[1] == 2 * P.MARGIN + 8 * 160 + 7 * P.GAP
    assert img.shape[0] == P.cell_origin(20, 0, 160)[1] - P.LABEL_H + P.MARGIN
