"""Corruptions per second and refusal rate per type, on N procedural chairs.

Usage: python benchmarks/corrupt_throughput.py [--n 200] [--seed 0]
Falls back to the toy box chairs (datagen.corrupt.toy) if the procedural generator is
not importable. Donors for ``swapped`` are the other chairs. Single process.
"""

from __future__ import annotations

import argparse
import time

from datagen.corrupt import TYPES, corrupt
from datagen.errors import Refused
from datagen.seeding import rng_for


def make_shapes(n: int, seed: int):
    from datagen.shapes.procedural import generate

    return "procedural", [generate("chair", f"chair{i:04d}", rng_for(seed, "shape", i)) for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    kind, shapes = make_shapes(args.n, args.seed)
    print(f"{len(shapes)} {kind} chairs, {sum(len(s.parts) for s in shapes) / len(shapes):.1f} parts/shape on average")
    # burn in (imports, manifold3d, rtree)
    for t in TYPES:
        try:
            corrupt(shapes[0], t, rng_for("burn", t), donors=shapes[1:3])
        except Refused:
            pass
    print(f"{'type':<10} {'done':>5} {'refused':>7} {'refusal':>8} {'per s':>8} {'ms/item':>8}")
    for t in TYPES:
        done = refused = 0
        reasons: dict[str, int] = {}
        t0 = time.perf_counter()
        for s in shapes:
            try:
                corrupt(s, t, rng_for(args.seed, s.id, t, 0), donors=shapes)
                done += 1
            except Refused as e:
                refused += 1
                first = str(e).split(": ", 1)[-1].split(";")[0]
                key = " ".join(w for w in first.split() if not any(ch.isdigit() for ch in w))[:70]
                reasons[key] = reasons.get(key, 0) + 1
        dt = time.perf_counter() - t0
        n = done + refused
        print(f"{t:<10} {done:>5} {refused:>7} {refused / n:>8.1%} {n / dt:>8.1f} {1000 * dt / n:>8.1f}")
        for r, c in sorted(reasons.items(), key=lambda x: -x[1])[:3]:
            print(f"{'':<12}refused {c}x: {r}")


if __name__ == "__main__":
    main()
