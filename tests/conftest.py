import sys

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_bpy_in_test_process():
    """Blender runs in worker subprocesses only: bpy in this process would clash with pymeshlab."""
    yield
    assert "bpy" not in sys.modules, "a test imported bpy into the pytest process; use a worker subprocess"
