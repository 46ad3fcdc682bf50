"""Which seed a new take uses.

A pinned line reuses its seed, so regenerating it with unchanged inputs reproduces its take exactly.
Otherwise each take draws a new seed: derived from the project seed when there is one (a fresh render of
the same script is then reproducible), random when there is none.
"""

from __future__ import annotations

import hashlib
import secrets

from .model import Line

SEED_LIMIT = 2**31  # seeds stay in [0, 2**31): every seed field and tool accepts them


def derived_seed(project_seed: int, line_id: str, take_number: int) -> int:
    digest = hashlib.sha256(f"{project_seed}/{line_id}/{take_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def random_seed() -> int:
    return secrets.randbelow(SEED_LIMIT)


def seed_for_next_take(project_seed: int | None, line: Line) -> int:
    if line.pinned and line.seed is not None:
        return line.seed
    if project_seed is not None:
        return derived_seed(project_seed, line.id, line.next_take)
    return random_seed()


def part_seed(seed: int, part: int) -> int:
    """Seed of the `part`-th piece of a line generated in parts (part 0 uses the line's seed)."""
    return (seed + part) % SEED_LIMIT
