"""Overhead workload: ~20 M small pure-Python calls (about 1-2 s under plain python here).

Usage: python examples/overhead_call_heavy.py [--scale F]
"""

from __future__ import annotations

import sys


def add(a, b):
    return a + b


def step(x):
    return add(x, 1) & 0xFFFF


def run(n):
    acc = 0
    for i in range(n):
        acc = step(acc ^ i)
    return acc


if __name__ == "__main__":
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    print(run(int(6_000_000 * scale)))
