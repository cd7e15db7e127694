"""Generating many rows on several processes, with exactly the rows one process would make.

Work is cut into fixed chunks of `CHUNK_ROWS` rows, so the chunks (and the files written from them) are the same
for every worker count. When rows go to a file, each worker also encodes its chunk (JSON lines or an Arrow table),
so what crosses between processes is one string or one columnar buffer, not thousands of dicts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .api import generate
from .registry import get_task
from .schema import ROW_SCHEMA

#: Rows per unit of work handed to a worker process.
CHUNK_ROWS = 2_000

_Job = tuple[str, int, int, int, dict[str, Any]]


def _rows(job: _Job) -> list[dict[str, Any]]:
    task, seed, start, count, params = job
    return generate(task, count, seed, start=start, **params)


def _jsonl(job: _Job) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in _rows(job))


def _arrow(job: _Job) -> pa.Table:
    return pa.Table.from_pylist(_rows(job), schema=ROW_SCHEMA)


def _plan(tasks: Sequence[str], n: int | None, seed: int, params: dict[str, Any]) -> list[_Job]:
    """Check every task and parameter before any work starts, and cut the work into chunks."""
    jobs: list[_Job] = []
    for task in tasks:
        spec = get_task(task)
        spec.make_config(**params)
        count = spec.rows if n is None else n
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"n must be a non-negative int; got {n!r}")
        jobs += [(spec.name, seed, start, min(CHUNK_ROWS, count - start), params) for start in range(0, count, CHUNK_ROWS)]
    return jobs


def _run(jobs: list[_Job], work: Callable[[_Job], Any], workers: int, progress: bool) -> Iterator[tuple[_Job, Any]]:
    """Yield (job, result) in job order, computed in this process or in `workers` processes."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int; got {workers!r}")
    with tqdm(total=sum(job[3] for job in jobs), unit="row", disable=not progress, leave=False) as bar:
        if workers == 1 or len(jobs) <= 1:
            results: Iterator[Any] = map(work, jobs)
            yield from _counted(jobs, results, bar)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                yield from _counted(jobs, pool.map(work, jobs), bar)


def _counted(jobs: list[_Job], results: Iterator[Any], bar: tqdm) -> Iterator[tuple[_Job, Any]]:
    for job, result in zip(jobs, results):
        bar.update(job[3])
        yield job, result


def generate_tasks(tasks: Sequence[str], n: int | None = None, seed: int = 0, *, workers: int = 1,
                   progress: bool = False, **params: Any) -> dict[str, list[dict[str, Any]]]:
    """Generate rows for several tasks, split into chunks across `workers` processes.

    Args:
        tasks: Task names.
        n: Rows per task (each task's published count when None).
        seed: The seed.
        workers: Worker processes (1 = in this process).
        progress: Show a progress bar.
        **params: Task parameters, applied to every task.

    Returns:
        Task name -> its rows in index order; identical for every worker count.
    """
    jobs = _plan(tasks, n, seed, params)
    result: dict[str, list[dict[str, Any]]] = {get_task(task).name: [] for task in tasks}
    for job, rows in _run(jobs, _rows, workers, progress):
        result[job[0]].extend(rows)
    return result


def write_tasks(paths: dict[str, Path], n: int | None = None, seed: int = 0, *, workers: int = 1,
                progress: bool = False, **params: Any) -> dict[str, int]:
    """Generate rows for several tasks straight into files (``.jsonl`` or ``.parquet``, by suffix).

    Each file is written beside its target and renamed into place when complete, so an interrupted run never
    leaves a half file under the target's name.

    Args:
        paths: Task name -> output file.
        n: Rows per task (each task's published count when None).
        seed: The seed.
        workers: Worker processes (1 = in this process); the files are identical for every count.
        progress: Show a progress bar.
        **params: Task parameters, applied to every task.

    Returns:
        Task name -> rows written.
    """
    for path in paths.values():
        if Path(path).suffix not in (".jsonl", ".parquet"):
            raise ValueError(f"output files must end in .jsonl or .parquet, got {path}")
    names = {get_task(task).name: Path(path) for task, path in paths.items()}
    counts = dict.fromkeys(names, 0)
    for target in names.values():
        target.parent.mkdir(parents=True, exist_ok=True)
    for name, target in names.items():
        jobs = _plan([name], n, seed, params)
        staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            if target.suffix == ".jsonl":
                with staging.open("w", encoding="utf-8") as handle:
                    for job, text in _run(jobs, _jsonl, workers, progress):
                        handle.write(text)
                        counts[name] += job[3]
            else:
                with pq.ParquetWriter(staging, ROW_SCHEMA, compression="zstd", write_statistics=False) as writer:
                    for job, table in _run(jobs, _arrow, workers, progress):
                        writer.write_table(table)
                        counts[name] += job[3]
            staging.replace(target)
        finally:
            staging.unlink(missing_ok=True)
    return counts
