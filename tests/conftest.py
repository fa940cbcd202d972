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


@pytest.fixture(scope="session")
def chair_library(tmp_path_factory):
    """``n -> folder``: a library of procedural chairs 0 .. n-1 (seed 0), made once per session and shared
    by the test modules that only read it."""
    made = {}

    def get(n: int):
        if n not in made:
            from datagen.shapes.procedural import generate_library

            made[n] = tmp_path_factory.mktemp(f"chairs{n}")
            generate_library("chair", n, made[n], seed=0, progress=False)
        return made[n]

    return get
