"""Clean control: a list comprehension with a condition that is kept and used several times."""


def select(values: list[float], keys: list[int], threshold: float) -> list[float]:
    kept = [values[k] for k in keys if values[k] > threshold]
    return kept


def main() -> None:
    values = [((i * 7919) % 1000) / 10.0 for i in range(600000)]
    keys = list(range(0, len(values), 2))
    kept = select(values, keys, 20.0)
    print(len(kept), kept[0], kept[-1], max(kept), min(kept))


if __name__ == "__main__":
    main()
