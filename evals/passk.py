"""pass^k in the manner of τ-bench: the chance that k independent trials all succeed."""

from __future__ import annotations

from collections.abc import Sequence
from math import comb


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass^k from ``n`` trials with ``c`` successes: C(c,k) / C(n,k)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    return comb(c, k) / comb(n, k)


def curve(outcomes: Sequence[tuple[int, int]], k_max: int) -> dict[int, float]:
    """Mean pass^k over scenarios, for k = 1..k_max; ``outcomes`` holds (n, c) per scenario."""
    if not outcomes:
        return {}
    result: dict[int, float] = {}
    for k in range(1, k_max + 1):
        usable = [(n, c) for n, c in outcomes if n >= k]
        if usable:
            result[k] = sum(pass_hat_k(n, c, k) for n, c in usable) / len(usable)
    return result
