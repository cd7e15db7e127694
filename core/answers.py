"""The complete set of correct answers of a row, for tasks whose answers can be counted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import get_task
from .schema import parse_reference

#: The largest answer set enumerated for calibration (larger sets are reported as not enumerable: their exact
#: computation and even their Monte Carlo estimate cost seconds per row); the dataset card states it.
ENUMERATION_LIMIT = 10_000


def enumerate_answers(row: Mapping[str, Any], limit: int = 100_000) -> list[tuple[str, ...]] | None:
    """Return every correct answer of `row` as a tuple of answer units (names, list items, grid cells).

    Args:
        row: A generated row.
        limit: The largest answer set to return.

    Returns:
        The answers, or None when there are more than `limit` or the task's answers cannot be enumerated.
    """
    reference = parse_reference(row)
    enumerate_fn = get_task(row["task"]).enumerate_answers
    return None if enumerate_fn is None else enumerate_fn(reference, limit)
