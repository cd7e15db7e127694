"""Generating many rows on several processes, with exactly the rows one process would make."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm.auto import tqdm

from .api import generate
from .registry import get_task

#: Rows per unit of work handed to a worker process.
CHUNK_ROWS = 2_000

_Job = tuple[str, int, int, int, dict[str, Any]]


def _run_job(job: _Job) -> list[dict[str, Any]]:
    task, seed, start, count, params = job
    return generate(task, count, seed, start=start, **params)


def generate_tasks(tasks: Sequence[str], n: int | None = None, seed: int = 0, *, workers: int = 1,
                   progress: bool = False, **params: Any) -> dict[str, list[dict[str, Any]]]:
    """Generate rows for several tasks, split into chunks across `workers` processes.

    Every row depends only on (task, seed, index, params), so the result is identical for every worker count.

    Args:
        tasks: Task names.
        n: Rows per task (each task's published count when None).
        seed: The seed.
        workers: Worker processes (1 = in this process).
        progress: Show a progress bar.
        **params: Task parameters, applied to every task.

    Returns:
        Task name -> its rows in index order, in the order of `tasks`.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int; got {workers!r}")
    jobs: list[_Job] = []
    for task in tasks:
        spec = get_task(task)
        spec.make_config(**params)  # fail on a bad parameter before any work starts
        count = spec.rows if n is None else n
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"n must be a non-negative int; got {n!r}")
        jobs += [(spec.name, seed, start, min(CHUNK_ROWS, count - start), params) for start in range(0, count, CHUNK_ROWS)]
    result: dict[str, list[dict[str, Any]]] = {get_task(task).name: [] for task in tasks}
    with tqdm(total=sum(job[3] for job in jobs), unit="row", disable=not progress, leave=False) as bar:
        for job, rows in zip(jobs, _map(jobs, workers)):
            result[job[0]].extend(rows)
            bar.update(len(rows))
    return result


def _map(jobs: list[_Job], workers: int) -> Iterator[list[dict[str, Any]]]:
    if workers == 1 or len(jobs) <= 1:
        yield from map(_run_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_run_job, jobs)
