def algorithm(t: str, dist: int) -> str:
    """Exact: dynamic programming over (position, last letter, distance so far)."""
    n = len(t)
    base = sum(a != b for a, b in zip(t, t[1:]))
    target = dist - base
    # reach[i][c] maps a partial distance to a predecessor (letter, distance)
    reach = [{"A": {}, "B": {}} for _ in range(n)]
    for c in "AB":
        reach[0][c][int(c != t[0])] = None
    for i in range(1, n):
        for c in "AB":
            for p in "AB":
                for d in reach[i - 1][p]:
                    nd = d + (c != t[i]) + (c != p)
                    if nd <= target and nd not in reach[i][c]:
                        reach[i][c][nd] = (p, d)
    for c in "AB":
        if target in reach[n - 1][c]:
            out, d = [c], target
            for i in range(n - 1, 0, -1):
                p, d = reach[i][out[-1]][d]
                out.append(p)
            return "".join(reversed(out))
    return t
