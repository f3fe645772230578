"""String processing: word statistics of log lines, with lists built only to be iterated."""


def make_lines(n: int) -> list[str]:
    words = ("Error", "warning:", "disk", "Full.", "retry,", "user", "LOGIN", "ok")
    return [" ".join(words[(i + k) % len(words)] for k in range(12)) for i in range(n)]


def word_stats(lines: list[str]) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    for line in lines:
        for word in [w.strip(".,:").lower() for w in line.split()]:  # planted: list-only-iterated
            counts[word] = counts.get(word, 0) + 1
    n = sum([len(w.upper()) for s in lines for w in s.split()])  # planted: list-only-iterated
    return counts, n


def main() -> None:
    lines = make_lines(30000)
    counts, n = word_stats(lines)
    print(len(counts), n)


if __name__ == "__main__":
    main()
