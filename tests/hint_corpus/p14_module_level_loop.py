"""A script with its numeric loop at the top level: Collatz chain lengths."""

best = 0
best_n = 0
for n in range(1, 10000):  # planted: numba-loop
    steps = 0
    m = n
    while m != 1:
        m = m // 2 if m % 2 == 0 else 3 * m + 1
        steps += 1
    if steps > best:
        best = steps
        best_n = n
print(best_n, best)
