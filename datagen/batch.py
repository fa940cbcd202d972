"""Batches: one summary type, one status vocabulary, one failures/refusals writer.

Every long command (shape import, corruption, dataset generation, export) runs items and
counts each one as exactly one status of ``STATUSES``:

- ``done``: output written; ``skipped``: already complete (resume);
- ``refused``: the input cannot take this item (a corruption with no eligible part, no
  donor ...), expected and listed in ``refusals.jsonl``;
- ``dropped``: the item ran but produced nothing by design (an anomaly that no camera sees);
- ``failed``: bad input or a bug, one line naming the file and the problem in ``failures.jsonl``.

A bad item never stops the batch. Each item's own output is written atomically by the
function, so nothing half-written stays on disk.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from datagen.errors import DatagenError, Refused
from datagen.io import atomic_write_text

STATUSES = ("done", "skipped", "refused", "dropped", "failed")
DONE, SKIPPED, REFUSED, DROPPED, FAILED = STATUSES


def write_jsonl(path: str | os.PathLike, rows: list[dict]) -> str | None:
    """Write ``rows`` as JSON lines atomically; remove ``path`` when there are none. Returns the path or None."""
    path = Path(path)
    if rows:
        atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        return str(path)
    path.unlink(missing_ok=True)
    return None


@dataclass
class Summary:
    """What a batch did.

    counts : status -> items. by_group : group (e.g. anomaly type) -> status -> items.
    failures : ``[{"item", "error", ...}]``; refusals : ``[{"item", "reason", ...}]``.
    outputs : files or samples written (a job may write several); seconds : wall time.
    """

    counts: dict = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    by_group: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    outputs: int = 0
    seconds: float = 0.0
    failures_path: str | None = None
    refusals_path: str | None = None

    def add(self, status: str, item: str | None = None, *, group: str | None = None, error: str | None = None,
            reason: str | None = None, outputs: int = 0, **extra) -> None:
        """Count one item. ``error`` goes with ``failed``, ``reason`` with ``refused``/``dropped``."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r}: expected one of {STATUSES}")
        self.counts[status] += 1
        if group is not None:
            self.by_group.setdefault(group, dict.fromkeys(STATUSES, 0))[status] += 1
        self.outputs += int(outputs)
        if status == FAILED:
            self.failures.append({"item": item, "error": error, **extra})
        elif status == REFUSED:
            self.refusals.append({"item": item, "reason": reason, **extra})

    def __getattr__(self, name):  # summary.done, .skipped, .refused, .dropped, .failed
        if name in STATUSES:
            return self.counts[name]
        raise AttributeError(name)

    def line(self, what: str = "items", outputs: str | None = None) -> str:
        """One line: ``what: done 3, skipped 0, refused 1, dropped 0, failed 0[; N outputs]; T s (where lists are)``."""
        s = f"{what}: " + ", ".join(f"{k} {self.counts[k]}" for k in STATUSES)
        if outputs:
            s += f"; {outputs} {self.outputs}"
        if self.seconds:
            s += f"; {self.seconds:.1f} s"
        where = [f"{k} in {p}" for k, p in (("failures", self.failures_path), ("refusals", self.refusals_path)) if p]
        return s + (f" ({'; '.join(where)})" if where else "")

    def exit_problem(self, what: str, empty: str | None, verb: str = "done", strict: bool = False) -> str | None:
        """Why a batch command exits 1, as its one ``error:`` line, or None (exit 0). The rule of every
        batch command (farm schedulers read exit codes):

        - no item at all (nothing found to do): ``empty``, the command's line naming where it looked and
          what it expected; ``empty=None`` when an empty batch is fine (a shard of a larger plan);
        - items, none done or skipped, and some failed: ``"F of N <what> failed, nothing <verb> (see ...)"``;
        - ``strict`` (commands that exit 1 on any failure): some failed: ``"F of N <what> failed (see ...)"``.

        Otherwise None: a partial success (strict off), a resume where every item was already done
        (all skipped), or items refused / dropped by design without failures.
        """
        total = sum(self.counts.values())
        if total == 0:
            return empty
        if not self.counts[FAILED]:
            return None
        see = f" (see {self.failures_path})" if self.failures_path else ""
        if self.counts[DONE] + self.counts[SKIPPED] == 0:
            return f"{self.counts[FAILED]} of {total} {what} failed, nothing {verb}{see}"
        return f"{self.counts[FAILED]} of {total} {what} failed{see}" if strict else None

    def raise_exit_problem(self, what: str, empty: str | None, verb: str = "done", strict: bool = False) -> None:
        """Raise ``exit_problem(...)`` as a ``DatagenError`` (the CLI prints it as its one ``error:`` line,
        exit code 1); return when there is none."""
        problem = self.exit_problem(what, empty, verb=verb, strict=strict)
        if problem:
            raise DatagenError(problem)

    def write_lists(self, failures_path: str | os.PathLike | None, refusals_path: str | os.PathLike | None = None) -> None:
        """Write (or remove) the failures and refusals files."""
        if failures_path is not None:
            self.failures_path = write_jsonl(failures_path, self.failures)
        if refusals_path is not None:
            self.refusals_path = write_jsonl(refusals_path, self.refusals)

    def to_json(self) -> dict:
        return {"counts": dict(self.counts), "by_group": self.by_group, "outputs": self.outputs,
                "failures": self.failures, "refusals": self.refusals, "seconds": round(self.seconds, 3)}


def failure_fields(e: BaseException) -> dict:
    """``{"error": one line}`` for our own errors; ``Type: message`` + a short traceback for anything else."""
    if isinstance(e, DatagenError):
        return {"error": " ".join(str(e).split())}
    return {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=6)}


def run_batch(
    items: Iterable,
    fn: Callable[[object], str | None],
    *,
    desc: str = "",
    failures_path: str | os.PathLike | None = None,
    refusals_path: str | os.PathLike | None = None,
    name: Callable[[object], str] = str,
    describe: Callable[[object], dict] | None = None,
    group: Callable[[object], str] | None = None,
    progress: bool = True,
    total: int | None = None,
) -> Summary:
    """Call ``fn(item)`` for each item; it returns ``"done"`` (or None), ``"skipped"`` or ``"dropped"``,
    or raises ``Refused`` (counted as refused) or any other error (counted as failed).

    name : item -> its name in the lists. describe : item -> extra fields for its list rows.
    group : item -> a group key counted in ``by_group``. ``KeyboardInterrupt`` stops the batch.
    The failures / refusals files are rewritten atomically at the end (removed if none).
    """
    summary = Summary()
    items = list(items) if total is None else items
    bar = tqdm(items, desc=desc, total=total if total is not None else len(items), disable=not progress, unit="item")
    for item in bar:
        extra = describe(item) if describe else {}
        g = group(item) if group else None
        try:
            status = fn(item) or DONE
        except Refused as e:
            summary.add(REFUSED, name(item), group=g, reason=str(e), **extra)
        except Exception as e:  # noqa: BLE001 - a batch goes on past any bad sample
            summary.add(FAILED, name(item), group=g, **failure_fields(e), **extra)
        else:
            summary.add(status, name(item), group=g, outputs=int(status == DONE))
        bar.set_postfix({k: v for k, v in summary.counts.items() if v}, refresh=False)
    summary.write_lists(failures_path, refusals_path)
    return summary
