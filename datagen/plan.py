"""A run's config + shape ids + seed -> a deterministic list of jobs (ids, seeds, splits).

Per shape, in this order: ``<shape_id>/ref`` (reference views), ``<shape_id>/normal`` (normal
query views), then ``<shape_id>/<type>`` for each anomaly type drawn for the shape (each type
with probability ``config.anomaly_prob``, from ``rng_for(seed, "types", shape_id)``).
Every job's seed is ``stable_seed(seed, job_id)``; splits are assigned by shape with a seeded
shuffle. Nothing depends on the order of ``shape_ids``, on sharding or on the machine, so the
same config and seed give the same jobs, and ``shard(jobs, i, n)`` over i = 0..n-1 partitions
them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from datagen.config import GenConfig
from datagen.dataset.format import SPLITS
from datagen.seeding import rng_for, stable_seed

KINDS = ("ref", "normal", "anomaly", "scene")


@dataclass(frozen=True)
class Job:
    """One unit of work. id : ``<shape_id>/<variant>`` (queries) or the scene id ``<shape_id>-<NNN>``;
    kind : ref | normal | anomaly | scene; anomaly : the anomaly type (anomaly jobs; the anomalous copy of
    a scene) or None; seed : 63-bit int; split : a split name of the dataset (train, val, test, ...)."""

    id: str
    kind: str
    shape_id: str
    anomaly: str | None
    seed: int
    split: str

    @property
    def variant(self) -> str:
        return self.id.rsplit("/", 1)[1]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Job":
        return cls(**d)


def assign_splits(shape_ids, ratios, seed: int) -> dict[str, list[str]]:
    """Shape ids -> {"train", "val", "test"}: a seeded shuffle of the sorted ids, cut by ``ratios``.

    Counts: val and test get ``round(n * share)`` (test first), train the rest, so every id is
    in exactly one split. Each list is sorted.
    """
    ids = sorted(set(shape_ids))
    order = [ids[i] for i in rng_for(seed, "splits").permutation(len(ids))]
    n = len(ids)
    n_test = int(round(n * ratios[2]))
    n_val = min(int(round(n * ratios[1])), n - n_test)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def plan(config: GenConfig, shape_ids, seed: int) -> list[Job]:
    """The full, ordered job list of a run (see the module docstring)."""
    ids = sorted(set(shape_ids))
    splits = assign_splits(ids, config.splits, seed)
    split_of = {sid: name for name in SPLITS for sid in splits[name]}
    jobs = []
    for sid in ids:
        split = split_of[sid]
        jobs.append(Job(f"{sid}/ref", "ref", sid, None, stable_seed(seed, f"{sid}/ref"), split))
        jobs.append(Job(f"{sid}/normal", "normal", sid, None, stable_seed(seed, f"{sid}/normal"), split))
        draws = rng_for(seed, "types", sid).random(len(config.types))
        for kind, u in zip(config.types, draws):
            if u < config.anomaly_prob:
                jid = f"{sid}/{kind}"
                jobs.append(Job(jid, "anomaly", sid, kind, stable_seed(seed, jid), split))
    return jobs


def assign_scene_splits(categories: dict[str, str], ratios, unseen: tuple, seed: int) -> dict[str, list[str]]:
    """Shape id -> category ``categories`` -> splits by shape (and by category for toys).

    Shapes of a category in ``unseen`` all go to ``unseen-test``; the others are cut by ``ratios``
    (``assign_splits``) into train / val / test, and test is called ``seen-test`` when some
    category is unseen (the ToysAD names). Lists sorted, disjoint; empty ones left out.
    """
    held = sorted(s for s, c in categories.items() if c in unseen)
    seen = assign_splits([s for s in categories if categories[s] not in unseen], ratios, seed)
    out = {"train": seen["train"], "val": seen["val"], ("seen-test" if held else "test"): seen["test"]}
    if held:
        out["unseen-test"] = held
    return {k: v for k, v in out.items() if v}


def scene_id(shape_id: str, k: int) -> str:
    """The k-th (0-based) scene of a shape: ``<shape_id>-<k+1:03d>`` (the ToysAD naming)."""
    return f"{shape_id}-{k + 1:03d}"


def plan_scenes(config, categories: dict[str, str], seed: int, n_scenes: int) -> list[Job]:
    """``n_scenes`` scene jobs over the shapes of ``categories`` (shape id -> category).

    Scene i shows shape ``order[i % n]`` (``order`` a seeded permutation of the sorted ids), as that
    shape's scene ``i // n``; whether it has an anomalous copy (``config.anomaly_ratio``) and of which
    type (uniform over ``config.types``) is drawn from ``rng_for(seed, "scene-anomaly", scene id)``.
    Scene i is the same whatever ``n_scenes`` is, so a larger run extends a smaller one.
    """
    ids = sorted(categories)
    if not ids:
        return []
    splits = assign_scene_splits(categories, config.splits, config.unseen_categories, seed)
    split_of = {sid: name for name, members in splits.items() for sid in members}
    order = rng_for(seed, "scene-shapes").permutation(len(ids))
    jobs = []
    for i in range(int(n_scenes)):
        sid = ids[int(order[i % len(ids)])]
        jid = scene_id(sid, i // len(ids))
        r = rng_for(seed, "scene-anomaly", jid)
        anomaly = config.types[int(r.integers(len(config.types)))] if r.random() < config.anomaly_ratio else None
        jobs.append(Job(jid, "scene", sid, anomaly, stable_seed(seed, jid), split_of[sid]))
    return jobs


def plan_json(jobs: list[Job]) -> str:
    """Canonical JSON text of a job list (for determinism checks and ``--dry-run``)."""
    return json.dumps([j.to_json() for j in jobs], sort_keys=True, indent=1) + "\n"


# --- sharding ------------------------------------------------------------------------------
def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Shard ``index`` of ``count``: every ``count``-th job from ``index`` (round-robin keeps shards balanced)."""
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count}: need 0 <= index < count")
    return jobs[index::count]


def parse_shard(text: str | None, env=None) -> tuple[int, int] | None:
    """``"i/N"`` -> (i, N); ``"auto"`` or None -> from the environment (or None if not set there).

    Environment: ``SLURM_ARRAY_TASK_ID`` + ``SLURM_ARRAY_TASK_COUNT`` (task ids counted from
    ``SLURM_ARRAY_TASK_MIN``, default 0), or ``JOB_COMPLETION_INDEX`` (Kubernetes indexed jobs)
    + ``DATAGEN_SHARD_COUNT``. ``"auto"`` with none of them set is an error.
    """
    env = os.environ if env is None else env
    if text is not None and text != "auto":
        try:
            a, b = text.split("/")
            i, n = int(a), int(b)
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected INDEX/COUNT, e.g. 0/4") from None
        if not (n >= 1 and 0 <= i < n):
            raise ValueError(f"--shard {text!r}: need 0 <= INDEX < COUNT")
        return i, n
    found = None
    if env.get("SLURM_ARRAY_TASK_ID") is not None:
        if env.get("SLURM_ARRAY_TASK_COUNT") is None:
            raise ValueError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
        i = int(env["SLURM_ARRAY_TASK_ID"]) - int(env.get("SLURM_ARRAY_TASK_MIN", 0))
        found = (i, int(env["SLURM_ARRAY_TASK_COUNT"]))
    elif env.get("JOB_COMPLETION_INDEX") is not None:
        if env.get("DATAGEN_SHARD_COUNT") is None:
            raise ValueError("JOB_COMPLETION_INDEX is set: also set DATAGEN_SHARD_COUNT to the number of completions")
        found = (int(env["JOB_COMPLETION_INDEX"]), int(env["DATAGEN_SHARD_COUNT"]))
    if found is None:
        if text == "auto":
            raise ValueError("--shard auto: none of SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX is set")
        return None
    i, n = found
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard {i}/{n} from the environment: need 0 <= index < count")
    return found
