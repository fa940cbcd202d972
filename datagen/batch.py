"""Run a function over many items: progress bar, skip/done/failed counts, failures file.

A bad item never stops the batch: its error (one line naming the file and the problem)
goes to ``failures.jsonl`` and the summary. Each item's own output is written atomically
by the function, so nothing half-written stays on disk.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from datagen.errors import DatagenError
from datagen.io import atomic_write_text

DONE, SKIPPED = "done", "skipped"


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)  # [{"item", "error"}]
    failures_path: str | None = None

    def line(self, what: str = "items") -> str:
        s = f"{what}: done {self.done}, skipped {self.skipped}, failed {self.failed}"
        if self.failed and self.failures_path:
            s += f" (listed in {self.failures_path})"
        return s

    def to_json(self) -> dict:
        return {"done": self.done, "skipped": self.skipped, "failed": self.failed, "failures": self.failures}


def run_batch(
    items: Iterable,
    fn: Callable[[object], str | None],
    *,
    desc: str = "",
    failures_path: str | os.PathLike | None = None,
    name: Callable[[object], str] = str,
    progress: bool = True,
    total: int | None = None,
) -> BatchSummary:
    """Call ``fn(item)`` for each item; ``fn`` returns ``"done"`` or ``"skipped"``.

    Errors of type ``DatagenError`` are recorded as their message; any other exception
    as ``Type: message`` (a bug in our code or a library). ``KeyboardInterrupt`` stops
    the batch. The failures file is rewritten atomically at the end (removed if none).
    """
    summary = BatchSummary()
    items = list(items) if total is None else items
    bar = tqdm(items, desc=desc, total=total if total is not None else len(items), disable=not progress, unit="item")
    for item in bar:
        try:
            status = fn(item)
        except DatagenError as e:
            summary.failed += 1
            summary.failures.append({"item": name(item), "error": str(e)})
        except Exception as e:  # noqa: BLE001 - a batch goes on past any bad sample
            summary.failed += 1
            summary.failures.append(
                {"item": name(item), "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=4)}
            )
        else:
            if status == SKIPPED:
                summary.skipped += 1
            else:
                summary.done += 1
        bar.set_postfix(done=summary.done, skip=summary.skipped, fail=summary.failed, refresh=False)
    if failures_path is not None:
        failures_path = Path(failures_path)
        if summary.failures:
            atomic_write_text(failures_path, "".join(json.dumps(f, sort_keys=True) + "\n" for f in summary.failures))
            summary.failures_path = str(failures_path)
        elif failures_path.exists():
            failures_path.unlink()
    return summary
