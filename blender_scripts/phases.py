"""Where a render call spends its time: ``PhaseClock`` listens to Blender's ``render_stats`` handler.

Cycles reports its progress as status strings (``"Mem: 1M | Synchronizing object | Cube"``,
``"... | Updating Scene BVH | Building BVH"``, ``"... | Sample 3/16"``, ``"... | Finished"``,
``"Time: 00:00.27 (Saving: 00:00.11)"``). Each string starts a phase that lasts until the next
one; ``PhaseClock`` adds that interval to the phase's total:

========== =====================================================================
sync       Blender -> Cycles scene export (``Synchronizing``, ``Initializing``)
update     device scene update: meshes, attributes, lights, film, images
bvh        building and copying the BVH (``Updating Scene BVH``)
kernels    loading render / denoising kernels (first call of a process)
sampling   path tracing (``Sample i/N``)
denoise    OpenImageDenoise (``Denoising``)
save       writing the output file (``Finished`` .. the final ``Time:`` line)
other      before the first status string and after the last one
========== =====================================================================

Workbench sends no such strings: its whole call is ``other``. With OIDN on, Cycles 5 denoises
inside its last ``Sample N/N`` phase (no separate status string at our image sizes), so
``denoise`` is usually 0 and the denoiser's time is in ``sampling``. ``classify`` is pure Python
(bpy is imported only by ``PhaseClock``), so tests can run it without Blender.
"""

from __future__ import annotations

import time

PHASES = ("sync", "update", "bvh", "kernels", "sampling", "denoise", "save", "other")


def classify(stats: str) -> str:
    """The phase a ``render_stats`` status string starts (see the module table)."""
    s = stats.split("|")
    body = " | ".join(p.strip() for p in s if not p.strip().startswith(("Mem:", "Remaining:", "Peak")))
    if body.startswith("Time:"):
        return "other"  # the final summary: what follows is Blender's own bookkeeping
    if "Finished" in body:
        return "save"
    if "Denois" in body:
        return "denoise"
    if body.startswith("Sample") or "Sample " in body or body.startswith("Rendered"):
        return "sampling"
    if "kernels" in body:
        return "kernels"
    if "BVH" in body:
        return "bvh"
    if body.startswith("Updating") or "Writing constant memory" in body:
        return "update"
    if body.startswith(("Synchronizing", "Initializing", "Waiting")):
        return "sync"
    return "other"


class PhaseClock:
    """``with PhaseClock(totals): bpy.ops.render.render(...)`` adds each phase's seconds to ``totals``
    (a dict, phase -> seconds) and the whole call to ``totals["render"]``."""

    def __init__(self, totals: dict):
        self.totals = totals
        self._phase = "other"
        self._since = 0.0

    def _on_stats(self, *args) -> None:
        stats = next((a for a in args if isinstance(a, str)), "")
        now = time.perf_counter()
        self._add(self._phase, now - self._since)
        self._phase, self._since = classify(stats), now

    def _add(self, phase: str, seconds: float) -> None:
        self.totals[phase] = self.totals.get(phase, 0.0) + seconds

    def __enter__(self) -> "PhaseClock":
        import bpy

        self._start = self._since = time.perf_counter()
        self._phase = "other"
        bpy.app.handlers.render_stats.append(self._on_stats)
        return self

    def __exit__(self, *exc) -> None:
        import bpy

        handlers = bpy.app.handlers.render_stats
        if self._on_stats in handlers:
            handlers.remove(self._on_stats)
        now = time.perf_counter()
        self._add(self._phase, now - self._since)
        self._add("render", now - self._start)
