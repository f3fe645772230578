"""Overhead workload: allocation-heavy (many short-lived objects and buffers), about 1-2 s here.

Usage: python examples/overhead_alloc_heavy.py [--scale F]
"""

from __future__ import annotations

import sys


def run(n):
    kept = []
    total = 0
    for i in range(n):
        row = {"id": i, "name": f"item-{i}", "values": [i, i + 1, i + 2]}
        blob = bytearray(256)
        total += len(row["name"]) + len(blob) + sum(row["values"])
        if i % 100 == 0:
            kept.append((row, bytes(blob)))
        if len(kept) > 1000:
            kept.clear()
    return total


if __name__ == "__main__":
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    print(run(int(1_500_000 * scale)))
