"""Errors that name the file (or item) and the problem, one line each."""

from __future__ import annotations

import os


class DatagenError(Exception):
    """Base class for every error this toolkit raises on purpose."""


class InputError(DatagenError):
    """Bad input: a missing file, bad JSON, a broken mesh, an out-of-range option.

    ``str(err)`` is ``"<path>: <problem>"`` so a batch summary can list it as is.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class Refused(DatagenError):
    """A corruption (or other step) that cannot apply to this input, and why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class RenderFailed(DatagenError):
    """The renderer answered ``ok: false`` (the worker is alive; the job may be retried)."""
