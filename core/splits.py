"""Assembling the splits of a build: test, validation and train, with no input shared across splits.

Each split has its own seed. The test split is made first and never changes; a later split drops every row whose
input (its ``reference``) already appears in an earlier split and tops up from the next indices, so its rows are
still a pure function of (task, split seed, index, params) and a bigger train split never leaks a test question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .api import generate
from .parallel import generate_tasks
from .errors import UsageError
from .registry import get_task

#: Split name -> its seed. The test split's seed is the benchmark's.
SPLIT_SEEDS: dict[str, int] = {"test": 0, "validation": 1, "train": 2}
#: How many rows past the requested count a split may look at before giving up on finding new inputs.
MAX_EXTRA_FACTOR = 10


def assemble_splits(tasks: Sequence[str], sizes: Mapping[str, int | None], *, workers: int = 1,
                    progress: bool = False) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Generate the splits of several tasks.

    Args:
        tasks: Task names.
        sizes: Split name (a key of `SPLIT_SEEDS`) -> rows per task (None: the task's published count).
        workers: Worker processes for the first pass of each split.
        progress: Show progress bars.

    Returns:
        Task name -> split name -> rows, splits in the order of `SPLIT_SEEDS`.

    Raises:
        ValueError: For an unknown split, or when a task's input space is too small to fill a split with new inputs.
    """
    unknown = sorted(set(sizes) - set(SPLIT_SEEDS))
    if unknown:
        raise UsageError(f"unknown split {unknown[0]!r}; splits are {', '.join(SPLIT_SEEDS)}")
    names = [get_task(task).name for task in tasks]
    result: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in names}
    seen: dict[str, set[str]] = {name: set() for name in names}
    for split, seed in SPLIT_SEEDS.items():
        if split not in sizes:
            continue
        first_pass = generate_tasks(names, sizes[split], seed, workers=workers, progress=progress)
        for name, rows in first_pass.items():
            wanted = len(rows)
            fresh = [row for row in rows if row["reference"] not in seen[name]]
            next_index = wanted
            while len(fresh) < wanted:
                if next_index >= wanted * MAX_EXTRA_FACTOR:
                    raise UsageError(f"{name}: cannot find {wanted} {split} rows whose inputs are not in an earlier "
                                     f"split; ask for fewer rows or use longer lists")
                row = generate(name, 1, seed, start=next_index)[0]
                next_index += 1
                if row["reference"] not in seen[name]:
                    fresh.append(row)
            seen[name].update(row["reference"] for row in fresh)
            result[name][split] = fresh
    return result
