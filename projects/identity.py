"""Matching the lines of an edited script to the lines before the edit, so takes stay with their line.

Unchanged lines keep their identity wherever they move. Within a region that changed, edited lines are
paired with the old lines they most resemble, in order; what is left over is new or removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher


def _pair_changed(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Order-preserving pairs (i, j) of a changed region maximising total text similarity."""
    if len(old) == len(new):
        return [(i, i) for i in range(len(old))]  # lines edited in place
    n, m = len(old), len(new)
    similarity = [[SequenceMatcher(None, a, b, autojunk=False).ratio() for b in new] for a in old]
    # best[i][j]: best score pairing old[i:] with new[j:]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1], similarity[i][j] + best[i + 1][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if best[i][j] == similarity[i][j] + best[i + 1][j + 1] and similarity[i][j] > 0:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def match_lines(old: Sequence[str], new: Sequence[str]) -> list[int | None]:
    """For each line of `new`, the index of the line of `old` it continues, or None for a new line.

    Each old line is used at most once."""
    result: list[int | None] = [None] * len(new)
    used: set[int] = set()
    matcher = SequenceMatcher(None, list(old), list(new), autojunk=False)
    leftovers: list[int] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                result[j1 + k] = i1 + k
                used.add(i1 + k)
        elif tag == "replace":
            # Large rewritten blocks are paired positionally: the quadratic pairing is for small edits.
            if (i2 - i1) * (j2 - j1) > 2500:
                pairs = [(k, k) for k in range(min(i2 - i1, j2 - j1))]
            else:
                pairs = _pair_changed(old[i1:i2], new[j1:j2])
            for i, j in pairs:
                result[j1 + j] = i1 + i
                used.add(i1 + i)
            leftovers.extend(j for j in range(j1, j2) if result[j] is None)
        elif tag == "insert":
            leftovers.extend(range(j1, j2))
    # A line that was cut and pasted elsewhere shows up as removed + inserted: give it its identity back.
    free: dict[str, list[int]] = {}
    for i, text in enumerate(old):
        if i not in used:
            free.setdefault(text, []).append(i)
    for j in leftovers:
        candidates = free.get(new[j])
        if candidates:
            result[j] = candidates.pop(0)
    return result
