"""Throughput of the procedural shape generator: shapes/s per category on one core.

Generation only (no disk writes), after a short burn-in. Usage:
    python benchmarks/shapes_throughput.py [--count 200] [--write]
``--write`` also times writing each shape to a temporary library (OBJ + JSON files).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from datagen.seeding import rng_for
from datagen.shapes.library import write_shape
from datagen.shapes.procedural import CATEGORIES, generate
from datagen.shapes.procedural.mechanical import KINDS, generate_mechanical


def rate(make, count: int) -> float:
    for i in range(5):  # burn-in (imports, caches)
        make(10_000_000 + i)
    t0 = time.perf_counter()
    for i in range(count):
        make(i)
    return count / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--write", action="store_true", help="also time generate + write_shape")
    args = ap.parse_args()
    for cat in CATEGORIES:
        r = rate(lambda i, c=cat: generate(c, f"s{i}", rng_for(0, c, i)), args.count)
        print(f"{cat:<22s} {r:8.1f} shapes/s (generate)")
    for kind in KINDS:
        r = rate(lambda i, k=kind: generate_mechanical(f"s{i}", rng_for(0, k, i), k), args.count)
        print(f"  mechanical/{kind:<10s} {r:8.1f} shapes/s (generate)")
    if args.write:
        for cat in CATEGORIES:
            with tempfile.TemporaryDirectory() as tmp:
                r = rate(lambda i, c=cat: write_shape(generate(c, f"s{i}", rng_for(0, c, i)), tmp), args.count)
            print(f"{cat:<22s} {r:8.1f} shapes/s (generate + write)")


if __name__ == "__main__":
    main()
