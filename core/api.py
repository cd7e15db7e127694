"""The public API: list tasks, generate rows, score predictions.

Everything here is pure: no I/O, no network, no global state that a call could change.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from .errors import UsageError
from .registry import Grader, get_task, task_names
from .rows import RowMaker
from .schema import Score, failed, parse_reference
from .validators import release_semantics


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that hold no cycles.

    With it running, a loop that fills a list with thousands of row dicts or verdicts spends a third of its time in
    collections that free nothing; reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def tasks() -> list[str]:
    """Return every registered task name (``family/task``), sorted."""
    return task_names()


def generate(task: str, n: int | None = None, seed: int = 0, *, start: int = 0, **params: Any) -> list[dict[str, Any]]:
    """Generate rows of one task, deterministically.

    Row ``i`` depends only on (task, seed, i, params), so any slice of indices can be made alone, in any process.

    Args:
        task: A task name from `tasks()` (or an alias, or a Hub config name such as ``waiting_line-shuffle``).
        n: How many rows; defaults to the task's published row count.
        seed: The seed.
        start: The index of the first row.
        **params: Overrides of the task's config fields (e.g. ``length=(3, 6)``, ``n_shots=0``).

    Returns:
        A list of row dicts (see `parallelbench.schema.ROW_SCHEMA`).

    Raises:
        ValueError: For an unknown task, a bad parameter, a negative count or a non-integer seed.
        GenerationError: When a gold answer fails its own validator (a bug, never expected).
    """
    rows = iter_rows(task, n, seed, start=start, **params)
    with gc_paused():
        return list(rows)


def iter_rows(task: str, n: int | None = None, seed: int = 0, *, start: int = 0,
              **params: Any) -> Iterator[dict[str, Any]]:
    """Return the rows `generate` would, made one at a time as they are read.

    The arguments are checked at once (the same errors as `generate`). Reading a row and letting it go before the
    next keeps memory flat and lets each row reuse the last one's memory, which makes writing rows to a file
    about a sixth faster than holding a list of them.
    """
    spec = get_task(task)
    config = spec.make_config(**params)
    count = spec.rows if n is None else n
    if not isinstance(count, int) or count < 0:
        raise UsageError(f"n must be a non-negative int; got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"seed must be an int; got {seed!r}")
    return map(RowMaker(spec, config, seed).row, range(start, start + count))


def scorer(task: str, strict: bool = False) -> Callable[[Mapping[str, Any], str], Score]:
    """Return a stateless scoring function for one task: ``fn(row, prediction) -> Score``.

    Args:
        task: A task name.
        strict: Demand exactly the requested output format.
    """
    spec = get_task(task)

    def score_row(row: Mapping[str, Any], prediction: str) -> Score:
        return _guarded(spec.grader(parse_reference(row)), prediction, strict)

    return score_row


def _guarded(grade: Grader, prediction: Any, strict: bool) -> Score:
    """Run a grader; input so pathological that Python itself gives up on it scores zero instead of raising."""
    try:
        return grade(prediction, strict)
    except (RecursionError, MemoryError) as error:
        return failed(f"prediction could not be parsed ({type(error).__name__})", mode="strict" if strict else "lenient")


#: The scoring semantics: ours (the default), or the original release's scorer on rows imported from it.
SEMANTICS: tuple[str, ...] = ("parallelbench", "release")


def _grader_for(task: str, reference: dict[str, Any], semantics: str) -> Grader:
    """The check of `task` under `semantics` (see `SEMANTICS`), bound to `reference`."""
    if semantics == "parallelbench":
        return get_task(task).grader(reference)
    if semantics == "release":
        return functools.partial(release_semantics.check, reference)
    raise UsageError(f"semantics must be one of {', '.join(SEMANTICS)}; got {semantics!r}")


def score(row: Mapping[str, Any], prediction: str, strict: bool = False, *, semantics: str = "parallelbench") -> Score:
    """Score one prediction against one row.

    Never raises because of the prediction (empty, huge, binary noise, wrong format all score 0 with a reason);
    raises `ValueError` only for a malformed row.

    Args:
        row: A generated row (only ``task`` and ``reference`` are read).
        prediction: The model's output text.
        strict: Demand exactly the requested output format instead of forgiving formatting noise.
        semantics: ``parallelbench`` (our validators) or ``release``: the original release's scorer, for rows
            imported with `parallelbench.release.import_release` (see `parallelbench.validators.release_semantics`).

    Returns:
        A `Score`.
    """
    reference = parse_reference(row)
    return _guarded(_grader_for(row["task"], reference, semantics), prediction, strict)


def score_many(rows: Sequence[Mapping[str, Any]], predictions: Iterable[str], strict: bool = False, *,
               workers: int = 1, semantics: str = "parallelbench") -> list[Score]:
    """Score predictions against rows, pairwise; the same results as calling `score` in a loop, faster.

    Args:
        rows: The rows.
        predictions: One prediction per row, in the same order.
        strict: As in `score`.
        workers: Worker processes. They hold the columns scoring reads (``task``, ``reference``, ``id``, the
            predictions), get spans of `SCORE_CHUNK` rows to score, parse each distinct reference once, and send
            back plain tuples. Used from ``2 * SCORE_CHUNK`` (10,000) predictions on; fewer are scored here.
        semantics: As in `score` (``release`` rows are scored in this process, one after another).

    Returns:
        One `Score` per row, in order; identical for every worker count.

    Raises:
        UsageError: When the counts differ or `workers` is not a positive int.
        MalformedRowError: For a malformed row (as `score`).
    """
    predictions = list(predictions)
    if len(predictions) != len(rows):
        raise UsageError(f"got {len(predictions)} predictions for {len(rows)} rows")
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a positive int; got {workers!r}")
    if semantics not in SEMANTICS:
        raise UsageError(f"semantics must be one of {', '.join(SEMANTICS)}; got {semantics!r}")
    if semantics == "release":
        return [score(row, prediction, strict, semantics=semantics) for row, prediction in zip(rows, predictions)]
    if workers == 1 or len(rows) < 2 * SCORE_CHUNK:
        return _score_chunk((list(rows), predictions, strict))
    try:  # only the columns scoring reads go to the workers
        tasks = [row["task"] for row in rows]
        references = [row["reference"] for row in rows]
        ids = [row.get("id") for row in rows]
    except (KeyError, TypeError, AttributeError):  # a malformed row: score in this process for its clear error
        return _score_chunk((list(rows), predictions, strict))
    spans = [(start, min(start + SCORE_CHUNK, len(rows))) for start in range(0, len(rows), SCORE_CHUNK)]
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_scoring_worker,
                             initargs=(tasks, references, ids, predictions, strict)) as pool, gc_paused():
        return [Score(*verdict) for chunk in pool.map(_score_span, spans) for verdict in chunk]


#: Predictions per unit of work handed to a scoring worker.
SCORE_CHUNK = 5_000
#: Graders a scoring worker keeps between its spans (it starts afresh past this many): a row scored many times in
#: one batch (one prediction per model and setting) is parsed and prepared once per worker, not once per span.
WORKER_GRADERS = 50_000


class _ScoringWorker:
    """What one scoring worker process holds for its `score_many` call (the process ends with the call).

    Attributes:
        columns: The batch as columns: (tasks, reference texts, ids, predictions, strict). Where processes start
            by forking (the default on Linux up to Python 3.13) the worker shares the caller's lists and nothing is
            copied; otherwise they are sent once per worker. Work units are then only (start, end) spans.
        graders: (task, reference text) -> the task's grader for that reference.
    """

    def __init__(self, columns: tuple[list[Any], list[Any], list[Any], list[Any], bool]) -> None:
        self.columns = columns
        self.graders: dict[tuple[str, str], Grader] = {}


_worker: _ScoringWorker | None = None


def _start_scoring_worker(*columns: Any) -> None:
    global _worker
    _worker = _ScoringWorker(columns)
    # What the worker inherited is never garbage: keep the collector off it, so that it neither scans the caller's
    # rows nor writes to their memory pages (each write would copy a page shared with the caller).
    gc.freeze()


def _score_chunk(chunk: tuple[list[Mapping[str, Any]], list[Any], bool]) -> list[Score]:
    rows, predictions, strict = chunk
    graders: dict[tuple[str, str], Grader] = {}
    with gc_paused():
        verdicts = [_score_prepared(row, prediction, strict, graders) for row, prediction in zip(rows, predictions)]
        graders.clear()  # freed now, so the collector, back on, does not scan them
    return verdicts


def _score_span(span: tuple[int, int]) -> list[tuple[Any, ...]]:
    """Score rows ``start..end-1`` of the worker's batch; return each verdict as a plain tuple (cheap to send back)."""
    assert _worker is not None, "_score_span runs in a scoring worker process"
    start, end = span
    tasks, reference_texts, ids, predictions, strict = _worker.columns
    graders = _worker.graders
    if len(graders) > WORKER_GRADERS:
        graders.clear()
    verdicts = []
    with gc_paused():
        for index in range(start, end):
            task, text, prediction = tasks[index], reference_texts[index], predictions[index]
            grade = graders.get((task, text)) if isinstance(text, str) else None
            if grade is None:
                grade = get_task(task).grader(parse_reference({"task": task, "reference": text, "id": ids[index]}))
                if isinstance(text, str):
                    graders[task, text] = grade
            verdict = _guarded(grade, prediction, strict)
            verdicts.append((verdict.value, verdict.correct, verdict.reason, verdict.details))
    return verdicts


def _score_prepared(row: Mapping[str, Any], prediction: Any, strict: bool,
                    graders: dict[tuple[str, str], Grader]) -> Score:
    """Score one row of a batch, parsing and preparing each distinct (task, reference) once per batch."""
    text = row.get("reference") if isinstance(row, dict) else None
    key = (row.get("task"), text) if isinstance(text, str) else None
    grade = graders.get(key) if key is not None else None
    if grade is None:
        reference = parse_reference(row)  # raises the clear error for a malformed row
        grade = get_task(row["task"]).grader(reference)
        if key is not None:
            graders[key] = grade
    return _guarded(grade, prediction, strict)
