"""A small in-memory Okapi BM25 (the measurement baseline, and the PostgreSQL re-ranker)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"\w+")


def plain_tokens(text: str) -> list[str]:
    """Lower-cased word tokens, no stemming or stop words: what 'plain BM25' sees."""
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 over pre-tokenised documents."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.freqs = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.avgdl = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for freq in self.freqs:
            df.update(freq.keys())
        n = len(documents)
        self.idf = {term: math.log(1 + (n - d + 0.5) / (d + 0.5)) for term, d in df.items()}

    def score(self, query: Sequence[str], index: int) -> float:
        """BM25 score of document ``index`` for the query terms."""
        freq, length = self.freqs[index], self.lengths[index]
        norm = self.k1 * (1 - self.b + self.b * length / self.avgdl) if self.avgdl else self.k1
        total = 0.0
        for term in set(query):
            tf = freq.get(term, 0)
            if tf:
                total += self.idf.get(term, 0.0) * tf * (self.k1 + 1) / (tf + norm)
        return total

    def top(self, query: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The k best documents as (index, score), best first; documents scoring 0 are left out."""
        scored = [(i, self.score(query, i)) for i in range(len(self.freqs))]
        scored = [pair for pair in scored if pair[1] > 0]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:k]
