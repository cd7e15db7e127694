"""Full names ("First Last") drawn from Faker's en_US name tables with our own seeded sampler.

Faker's own sampling goes through `random` methods whose results may change between Python versions, so only
Faker's data (names and their weights) is used here; the draws go through `parallelbench.rng`.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from faker.providers.person.en_US import Provider as _EnUsPeople

from ..rng import RowRandom, WeightedSampler
from .vocabulary import is_plain


@lru_cache(maxsize=1)
def _samplers() -> tuple[WeightedSampler, WeightedSampler]:
    first = _EnUsPeople.first_names
    last = _EnUsPeople.last_names
    for name in (*first, *last):
        if not is_plain(name) or " " in name:
            raise RuntimeError(f"Faker's en_US name {name!r} is not one plain ASCII word; the name sampler needs updating")
    return WeightedSampler(list(first), list(first.values())), WeightedSampler(list(last), list(last.values()))


def name_tables_sha256() -> str:
    """Return a fingerprint of the name tables in use, recorded in manifests so a data change is visible."""
    first, last = _samplers()
    payload = json.dumps([first.items, first.bounds, last.items, last.bounds])
    return hashlib.sha256(payload.encode()).hexdigest()


def draw_full_name(rng: RowRandom) -> str:
    """Return one "First Last" name, each part drawn by its en_US frequency."""
    first, last = _samplers()
    return f"{first.draw(rng)} {last.draw(rng)}"


def draw_distinct_names(rng: RowRandom, count: int) -> list[str]:
    """Return `count` distinct full names (a name drawn twice is redrawn)."""
    draw_first, draw_last = (sampler.draw for sampler in _samplers())
    names: list[str] = []
    while len(names) < count:
        name = f"{draw_first(rng)} {draw_last(rng)}"
        if name not in names:
            names.append(name)
    return names
