"""Assembling the splits of a build: test, validation and train, with no input shared across splits.

Each split has its own seed. The test split is made first and never changes; a later split drops every row whose
input (its ``reference``) already appears in an earlier split and tops up from the next indices, so its rows are
still a pure function of (task, split seed, index, params) and a bigger train split never leaks a test question.

`split_tables` streams one split of one task as Arrow tables of a few thousand rows, so a build holds a few chunks
at a time however large the split; `assemble_splits` collects them for callers that want every row in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pyarrow as pa
from tqdm.auto import tqdm

from .errors import UsageError
from .parallel import CHUNK_ROWS, plan_jobs, run_jobs, work, worker_pool
from .registry import get_task

#: Split name -> its seed. The test split's seed is the benchmark's.
SPLIT_SEEDS: dict[str, int] = {"test": 0, "validation": 1, "train": 2}
#: How many rows past the requested count a split may look at before giving up on finding new inputs.
MAX_EXTRA_FACTOR = 10


def check_splits(sizes: Mapping[str, int | None]) -> None:
    """Raise `UsageError` for a split name that is not a key of `SPLIT_SEEDS`, or a bad row count."""
    unknown = sorted(set(sizes) - set(SPLIT_SEEDS))
    if unknown:
        raise UsageError(f"unknown split {unknown[0]!r}; splits are {', '.join(SPLIT_SEEDS)}")
    for split, count in sizes.items():
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
            raise UsageError(f"rows of split {split!r} must be a non-negative int; got {count!r}")


def _fresh(table: pa.Table, seen: set[str]) -> pa.Table:
    """The rows of `table` whose input is not in `seen`."""
    if not seen:
        return table
    keep = [reference not in seen for reference in table.column("reference").to_pylist()]
    return table if all(keep) else table.filter(pa.array(keep))


def split_tables(task: str, split: str, count: int | None, seen: set[str], *, pool: ProcessPoolExecutor | None = None,
                 workers: int = 1, bar: tqdm | None = None) -> Iterator[pa.Table]:
    """Yield the rows of one split of one task, in index order, as Arrow tables (`ROW_SCHEMA`).

    Args:
        task: A task name.
        split: A key of `SPLIT_SEEDS`.
        count: Rows in the split (None: the task's published count).
        seen: The inputs (``reference`` texts) of earlier splits; rows with one of them are replaced.
        pool: Worker processes for the chunks (None: this process).
        workers: The pool's size.
        bar: A progress bar to advance by each chunk's rows.

    Raises:
        UsageError: When the task's input space is too small to fill the split with new inputs.
    """
    name = get_task(task).name
    seed = SPLIT_SEEDS[split]
    jobs = plan_jobs({name: ".parquet"}, count, seed, {})
    wanted = sum(job[3] for job in jobs)
    kept = 0
    for _, table in run_jobs(jobs, pool, workers, bar):
        table = _fresh(table, seen)
        kept += table.num_rows
        yield table
    next_index = wanted
    while kept < wanted:  # top up, in index order, from the rows past the requested count
        limit = wanted * MAX_EXTRA_FACTOR
        if next_index >= limit:
            raise UsageError(f"{name}: cannot find {wanted} {split} rows whose inputs are not in an earlier split; "
                             f"ask for fewer rows or use longer lists")
        batch = min(CHUNK_ROWS, limit - next_index)
        table = _fresh(work((name, seed, next_index, batch, {}, ".parquet")), seen)
        table = table.slice(0, wanted - kept)
        next_index += batch
        kept += table.num_rows
        yield table


def assemble_splits(tasks: Sequence[str], sizes: Mapping[str, int | None], *, workers: int = 1,
                    progress: bool = False) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Generate the splits of several tasks into memory (a build streams them instead, see `split_tables`).

    Args:
        tasks: Task names.
        sizes: Split name (a key of `SPLIT_SEEDS`) -> rows per task (None: the task's published count).
        workers: Worker processes.
        progress: Show a progress bar.

    Returns:
        Task name -> split name -> rows, splits in the order of `SPLIT_SEEDS`.

    Raises:
        UsageError: For an unknown split, or when a task's input space is too small to fill a split with new inputs.
    """
    check_splits(sizes)
    names = [get_task(task).name for task in tasks]
    result: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in names}
    with worker_pool(workers) as pool, tqdm(unit="row", desc="generating rows", disable=not progress, leave=False) as bar:
        for name in names:
            seen: set[str] = set()
            for split in SPLIT_SEEDS:
                if split not in sizes:
                    continue
                rows = [row for table in split_tables(name, split, sizes[split], seen, pool=pool, workers=workers,
                                                      bar=bar) for row in table.to_pylist()]
                seen.update(row["reference"] for row in rows)
                result[name][split] = rows
    return result

