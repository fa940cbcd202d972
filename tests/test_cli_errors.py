"""Every CLI error is one line ``error: <path>: <problem>`` on stderr with exit code 1 and no traceback;
``--debug`` / ``DATAGEN_DEBUG=1`` shows the traceback; click's usage errors keep exit code 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen.cli import main

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@pytest.fixture(scope="module")
def library(chair_library):
    return chair_library(1)


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def one_line(r, *needles):
    """Exit code 1, nothing but one ``error: `` line on stderr, holding ``needles``."""
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.output
    for n in needles:
        assert str(n) in r.stderr, (n, r.stderr)
    return r.stderr


def test_bad_value_in_config_json(library, tmp_path):
    cfg = tmp_path / "cfg.json"
    out = tmp_path / "ds"
    for body, problem in (({"preset": "demo", "render": 5}, "bad config"),  # the example: was a traceback
                          ({"preset": "demo", "resolution": -3}, "resolution=-3 out of range"),
                          ({"preset": "nope"}, "unknown preset 'nope'"),
                          ({"preset": "demo", "bogus": 1}, "unknown config keys ['bogus']")):
        cfg.write_text(json.dumps(body))
        one_line(run("generate", "--config", cfg, "--shapes", library, "--out", out, "--dry-run"), f"{cfg}: ", problem)
    cfg.write_text("{oops")
    one_line(run("generate", "--config", cfg, "--shapes", library, "--out", out), f"{cfg}: bad JSON at line 1")
    one_line(run("scenes", "--config", cfg, "--shapes", library, "--out", out), f"{cfg}: bad JSON")
    cfg.write_text(json.dumps({"preset": "toysad", "views": "many"}))
    one_line(run("scenes", "--config", cfg, "--shapes", library, "--out", out, "--dry-run"), f"{cfg}: bad config")
    cfg.write_text(json.dumps({"preset": "demo", "render": 5}))
    one_line(run("slurm-script", "--array", 2, "--script", tmp_path / "s.sbatch", "generate", "--config", cfg,
                 "--shapes", library, "--out", out), f"{cfg}: bad config")
    assert not (tmp_path / "s.sbatch").exists()
    assert not out.exists()


def test_debug_shows_the_traceback(library, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"preset": "demo", "render": 5}))
    args = ["generate", "--config", cfg, "--shapes", library, "--out", tmp_path / "ds", "--dry-run"]
    for r in (run("--debug", *args), run(*args, env={"DATAGEN_DEBUG": "1"})):
        assert r.exit_code == 1 and "Traceback (most recent call last)" in r.stderr
        assert r.stderr.splitlines()[-1].startswith(f"error: {cfg}: bad config")


def test_unexpected_errors_are_one_line_too(tmp_path, monkeypatch):
    import datagen.dataset.stats as stats

    (tmp_path / "ds").mkdir()

    def boom(*a, **k):
        raise KeyError("counts")

    monkeypatch.setattr(stats, "compute_stats", boom)
    one_line(run("stats", tmp_path / "ds"), "error: KeyError: 'counts' (datagen --debug ... shows the traceback)")
    with pytest.raises(KeyError):  # with --debug the error goes up with its traceback
        run("--debug", "stats", tmp_path / "ds")

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ds" / "index.jsonl"))

    monkeypatch.setattr(stats, "compute_stats", denied)
    assert one_line(run("stats", tmp_path / "ds")) == f"error: {tmp_path / 'ds' / 'index.jsonl'}: Permission denied\n"


def test_missing_or_empty_shapes_folder(tmp_path):
    r = run("generate", "--shapes", tmp_path / "nope", "--out", tmp_path / "ds")
    assert r.exit_code == 2 and "'--shapes'" in r.stderr and "nope" in r.stderr and "Traceback" not in r.output
    (tmp_path / "empty").mkdir()
    one_line(run("generate", "--shapes", tmp_path / "empty", "--out", tmp_path / "ds", "--quiet"),
             f"{tmp_path / 'empty'}: no shapes found")
    one_line(run("scenes", "--shapes", tmp_path / "empty", "--out", tmp_path / "ds2", "--quiet"),
             f"{tmp_path / 'empty'}: no shapes found")


def test_bad_render_spec_file(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text("{not json")
    one_line(run("render-spec", spec, "--out", tmp_path / "r"), f"{spec}", "bad JSON")
    spec.write_text(json.dumps({"objects": 3}))
    one_line(run("render-spec", spec, "--out", tmp_path / "r"), f"{spec}", "bad scene spec")


def test_broken_dataset_for_stats_preview_status_export(tmp_path):
    from synth_dataset import build_dataset

    ds = tmp_path / "ds"
    build_dataset(ds, scenes=False)
    lines = (ds / "index.jsonl").read_text().splitlines()
    (ds / "index.jsonl").write_text("\n".join(lines[:3] + ["{torn"] + lines[3:]) + "\n")
    for args in (["stats", ds], ["preview", ds, "--out", tmp_path / "p.png"]):
        one_line(run(*args), f"{ds / 'index.jsonl'}: line 4: bad JSON")
    (ds / "dataset.json").write_text('{"format": ')
    for args in (["stats", ds], ["preview", ds, "--out", tmp_path / "p.png"], ["status", ds],
                 ["export", "looking3d", ds, "--out", tmp_path / "e", "--no-progress"]):
        one_line(run(*args), f"{ds / 'dataset.json'}: bad JSON at line 1")
    # verify lists problems (stdout) and exits 1; not an error line
    r = run("verify", ds)
    assert r.exit_code == 1 and "dataset.json: bad JSON" in r.stdout and "Traceback" not in r.output


def test_bad_set_option_is_a_usage_error(library, tmp_path):
    for cmd in (["generate", "--shapes", library], ["scenes", "--shapes", library], ["corrupt", library]):
        for bad, needle in (("bogus", "TYPE.OPTION=VALUE"), ("broken.min_fraction=7", "broken.min_fraction"),
                            ("broken.size=3", "unknown option")):
            r = run(*cmd, "--out", tmp_path / "o", "--set", bad, "--dry-run" if cmd[0] != "corrupt" else "--no-progress")
            assert r.exit_code == 2 and needle in r.stderr and "--set" in r.stderr and "Traceback" not in r.output, r.output


def test_real_process_prints_one_line(library, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"preset": "demo", "render": 5}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("DATAGEN_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "datagen.cli", "generate", "--config", str(cfg), "--shapes", str(library),
                        "--out", str(tmp_path / "ds")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith(f"error: {cfg}: bad config") and p.stderr.count("\n") == 1, p.stderr
