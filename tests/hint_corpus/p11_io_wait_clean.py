"""Clean control: a loop of calls that mostly wait (simulated I/O), not CPU-bound."""

import time


def fetch(i: int) -> int:
    time.sleep(0.01)
    return sum(range(i % 50))


def main() -> None:
    total = 0
    for i in range(60):
        total += fetch(i)
    print(total)


if __name__ == "__main__":
    main()
