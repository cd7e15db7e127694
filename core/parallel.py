"""Generating many rows on several processes, with exactly the rows one process would make.

Work is cut into fixed chunks of `CHUNK_ROWS` rows, so the chunks (and the files written from them) are the same
for every worker count. When rows go to a file, each worker also encodes its chunk (JSON lines or an Arrow table),
so what crosses between processes is one string or one columnar buffer, not thousands of dicts.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from tqdm.auto import tqdm

from .api import gc_paused, generate, iter_rows
from .errors import UsageError
from .registry import get_task
from .schema import PARQUET_OPTIONS

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per unit of work handed to a worker process.
CHUNK_ROWS = 2_000

#: Jobs handed to the pool per worker before the first result is taken: enough to keep every worker busy, few enough
#: that results never pile up in memory while the caller writes them.
JOBS_IN_FLIGHT_PER_WORKER = 3

#: (task, seed, first index, row count, params, output form): the form is "rows" (dicts), ".jsonl" (UTF-8 bytes of
#: JSON lines) or ".parquet" (one Arrow table), so a worker hands back something cheap to send between processes.
_Job = tuple[str, int, int, int, dict[str, Any], str]


def default_workers() -> int:
    """Return the number of cores this process may run on (the default worker count of `generate` and `build`)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def check_workers(workers: object) -> int:
    """Return `workers` when it is a positive int; raise `UsageError` otherwise."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UsageError(f"workers must be a positive int; got {workers!r}")
    return workers


@contextmanager
def worker_pool(workers: int, initializer: Callable[[], None] | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """Yield a pool of `workers` processes, or None for 1 (work then runs in this process)."""
    if check_workers(workers) == 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=initializer) as pool:
        yield pool


def jsonl_bytes(rows: Iterable[dict[str, Any]]) -> bytearray:
    """Return `rows` as JSON lines (UTF-8): each line is exactly ``orjson.dumps(row)``.

    Each row's text is appended to one growing buffer and freed at once, so the next row reuses its memory;
    keeping one bytes object per row until a final join costs three times as much (a fresh 2 KB block per row).
    Given an iterator (`iter_rows`), each row is also let go before the next is made.
    """
    lines = bytearray()
    with gc_paused():
        for row in rows:
            lines += orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)
    return lines


def work(job: _Job) -> list[dict[str, Any]] | bytearray | pa.Table:
    """Generate one chunk of rows and encode it in the job's output form (runs in a worker process)."""
    task, seed, start, count, params, form = job
    if form == ".jsonl":
        return jsonl_bytes(iter_rows(task, count, seed, start=start, **params))
    rows = generate(task, count, seed, start=start, **params)
    if form == ".parquet":
        import pyarrow as pa  # only for Parquet: JSON lines never load it (see `parallelbench.schema`)

        from .schema import ROW_SCHEMA

        return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
    return rows


def plan_jobs(forms: dict[str, str], n: int | None, seed: int, params: dict[str, Any]) -> list[_Job]:
    """Check every task and parameter before any work starts, and cut the work into chunks of `CHUNK_ROWS` rows.

    Args:
        forms: Task name -> the output form of its chunks (see `_Job`).
        n: Rows per task (each task's published count when None).
        seed: The seed.
        params: Task parameters, applied to every task.
    """
    jobs: list[_Job] = []
    for task, form in forms.items():
        spec = get_task(task)
        spec.make_config(**params)
        count = spec.rows if n is None else n
        if not isinstance(count, int) or count < 0:
            raise UsageError(f"n must be a non-negative int; got {n!r}")
        jobs += [(spec.name, seed, start, min(CHUNK_ROWS, count - start), params, form)
                 for start in range(0, count, CHUNK_ROWS)]
    return jobs


def work_to_file(folder: str, job: _Job) -> str:
    """Generate one chunk as JSON lines into a file of its own in `folder`; return the file's path.

    A worker that writes its chunk to disk hands the writing process a path instead of megabytes through a pipe;
    the writer then copies the file into place inside the kernel (`os.sendfile`).
    """
    path = os.path.join(folder, f"{get_task(job[0]).config_name}-{job[2]}.part")
    with open(path, "wb") as handle:
        handle.write(work(job))
    return path


def _work_by_form(folder: str, job: _Job) -> Any:
    """`work_to_file` for JSON lines, `work` for the other forms."""
    return work_to_file(folder, job) if job[5] == ".jsonl" else work(job)


def run_jobs(jobs: Sequence[_Job], pool: ProcessPoolExecutor | None, workers: int = 1, bar: tqdm | None = None,
             function: Callable[[_Job], Any] = work) -> Iterator[tuple[_Job, Any]]:
    """Yield (job, ``function(job)``) in job order, computed in this process (`pool` None) or in the pool.

    At most `JOBS_IN_FLIGHT_PER_WORKER` jobs per worker are submitted ahead of the one being yielded, so memory
    holds a few chunks at a time however many jobs there are.
    """
    if pool is None:
        for job in jobs:
            result = function(job)
            if bar is not None:
                bar.update(job[3])
            yield job, result
        return
    pending: deque[tuple[_Job, Future[Any]]] = deque()
    upcoming = iter(jobs)
    for job in upcoming:
        pending.append((job, pool.submit(function, job)))
        if len(pending) >= workers * JOBS_IN_FLIGHT_PER_WORKER:
            break
    while pending:
        job, future = pending.popleft()
        following = next(upcoming, None)
        if following is not None:
            pending.append((following, pool.submit(function, following)))
        result = future.result()
        if bar is not None:
            bar.update(job[3])
        yield job, result


def _run(jobs: list[_Job], workers: int, progress: bool, label: str,
         function: Callable[[_Job], Any] = work) -> Iterator[tuple[_Job, Any]]:
    """Yield (job, ``function(job)``) in job order, with a labelled progress bar, in this process or in a pool."""
    check_workers(workers)
    with tqdm(total=sum(job[3] for job in jobs), unit="row", desc=label, disable=not progress, leave=False) as bar:
        with worker_pool(workers if len(jobs) > 1 else 1) as pool:
            yield from run_jobs(jobs, pool, workers, bar, function)


def _append_file(source: str, target: Any) -> None:
    """Append the file `source` to the open binary file `target` inside the kernel, then delete `source`."""
    target.flush()
    with open(source, "rb") as handle:
        size, offset = os.fstat(handle.fileno()).st_size, 0
        while offset < size:
            offset += os.sendfile(target.fileno(), handle.fileno(), offset, size - offset)
    os.unlink(source)


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
    result: dict[str, list[dict[str, Any]]] = {get_task(task).name: [] for task in tasks}
    jobs = plan_jobs(dict.fromkeys(result, "rows"), n, seed, params)
    for job, rows in _run(jobs, workers, progress, "generating rows"):
        result[job[0]].extend(rows)
    return result


def _parquet_writer(path: Path) -> Any:
    """Open a Parquet writer of rows at `path` (pyarrow is imported here: JSON lines never need it)."""
    import pyarrow.parquet as pq

    from .schema import ROW_SCHEMA

    return pq.ParquetWriter(path, ROW_SCHEMA, **PARQUET_OPTIONS)


def write_tasks(paths: dict[str, Path], n: int | None = None, seed: int = 0, *, workers: int = 1,
                progress: bool = False, **params: Any) -> dict[str, int]:
    """Generate rows for several tasks straight into files (``.jsonl`` or ``.parquet``, by suffix).

    All tasks share one pool of workers. Each file is written beside its target and renamed into place once every
    file is complete, so an interrupted run never leaves a half file under a target's name.

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
            raise UsageError(f"output files must end in .jsonl or .parquet, got {path}")
    targets = {get_task(task).name: Path(path) for task, path in paths.items()}
    jobs = plan_jobs({name: target.suffix for name, target in targets.items()}, n, seed, params)
    staging = {name: target.with_name(f".{target.name}.tmp-{os.getpid()}") for name, target in targets.items()}
    counts = dict.fromkeys(targets, 0)
    writers: dict[str, Any] = {}
    parts: Path | None = None
    try:
        for name, path in staging.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            writers[name] = path.open("wb") if targets[name].suffix == ".jsonl" else _parquet_writer(path)
        # With workers, JSON lines travel as files (see `work_to_file`); Parquet chunks as Arrow tables.
        by_file = workers > 1 and hasattr(os, "sendfile")
        if by_file:
            parts = Path(tempfile.mkdtemp(prefix=".parts-", dir=next(iter(staging.values())).parent))
        for job, encoded in _run(jobs, workers, progress, "generating rows",
                                 functools.partial(_work_by_form, str(parts)) if by_file else work):
            writer = writers[job[0]]
            if job[5] == ".parquet":
                writer.write_table(encoded)
            elif by_file:
                _append_file(encoded, writer)
            else:
                writer.write(encoded)
            counts[job[0]] += job[3]
        for writer in writers.values():
            writer.close()
        for name, path in staging.items():
            path.replace(targets[name])
    finally:
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
        for writer in writers.values():
            writer.close()  # closing twice is harmless for both kinds of writer
        for path in staging.values():
            path.unlink(missing_ok=True)
    return counts
