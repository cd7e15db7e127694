"""Difficulty calibration: the oracle's accuracy per row at a few parallelism levels, and a difficulty tier.

Each row's ``difficulty`` column (JSON text) holds the oracle's accuracy at k in {1, 2, 4, all} answer units per step
under two decoding settings:

* ``random/sample``: uniformly random slots, each taking a sample from its marginal (the paper's closed forms);
* ``confidence/argmax``: highest-confidence slots, each taking its argmax with a uniform tie-break (greedy decoding).

Values are exact (rational arithmetic, stored as floats rounded to `DECIMALS` decimals) where the answer set allows,
else Monte Carlo estimates with a 95% interval; ``method`` says which. The tier comes from the mean ``random/sample``
accuracy at k = 2, 4 and all (`TIERS`). Rows whose answers cannot be enumerated say so and get no tier.

A built folder is calibrated in place with `calibrate_folder`, which also writes per-task curves to
``calibration/<config>.json`` for the dataset card (`task_curves`, `write_task_curves`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..answers import ENUMERATION_LIMIT, enumerate_answers
from ..errors import UsageError
from ..folder import read_manifest, seal
from ..registry import get_task
from ..schema import PARQUET_OPTIONS, ROW_SCHEMA
from ..staging import staged
from .accuracy import OracleResult, oracle_result
from .oracle import UNIT, AnswerSet

#: The calibrated settings: (rule, values) -> the column name used in every report.
SETTINGS: dict[str, tuple[str, str]] = {
    "random/sample": ("random", "sample"),
    "confidence/argmax": ("confidence", "argmax"),
}
#: Answer units per step; None is every slot in one step, reported as "all".
TOKENS_PER_STEP: tuple[int | None, ...] = (1, 2, 4, None)
#: Tier -> the lowest tier score it takes (score: mean random/sample accuracy at k = 2, 4, all); below both is "hard".
TIERS: dict[str, float] = {"easy": 0.9, "medium": 0.5}
#: Decimals kept in the stored accuracies.
DECIMALS = 6
#: Monte Carlo decodes per setting when the exact computation is too large.
SAMPLES = 2000
#: Least budget of each exact computation in calibration (see `parallelbench.reference_decoding.exact.MAX_WORK`).
#: The budget grows with what the Monte Carlo estimate would cost (`MONTE_CARLO_OPS_PER_WORK` elementary operations
#: per work unit), so a setting is computed exactly whenever that is about as cheap as estimating it.
CALIBRATION_WORK = 200
MONTE_CARLO_OPS_PER_WORK = 100_000
#: Bump when the calibration's definition changes.
CALIBRATION_VERSION = "oracle-1"


def step_label(tokens_per_step: int | None) -> str:
    """The key of a tokens-per-step setting in the stored curves ("1", "2", "4", "all")."""
    return "all" if tokens_per_step is None else str(tokens_per_step)


def tier_of(curves: Mapping[str, Mapping[str, float]]) -> tuple[str, float]:
    """Return (tier, tier score) from a row's ``random/sample`` curve."""
    random_curve = curves["random/sample"]
    score = round(sum(random_curve[key] for key in ("2", "4", "all")) / 3, DECIMALS)
    for tier, lowest in TIERS.items():
        if score >= lowest:
            return tier, score
    return "hard", score


def calibration_point(answers: AnswerSet, setting: str, tokens_per_step: int | None, *,
                      max_work: int = CALIBRATION_WORK, samples: int = SAMPLES, seed: int = 0) -> OracleResult:
    """The oracle's accuracy on one answer set under one calibrated setting and one tokens-per-step value.

    Args:
        answers: The row's correct answers.
        setting: A key of `SETTINGS`.
        tokens_per_step: One of `TOKENS_PER_STEP`.
        max_work: Least budget of the exact computation before it falls back to Monte Carlo.
        samples: Monte Carlo decodes.
        seed: Monte Carlo seed.
    """
    rule, values = SETTINGS[setting]
    k = tokens_per_step if tokens_per_step is not None and tokens_per_step < answers.length else None
    steps = 1 if k is None else -(-answers.length // k)
    budget = max(max_work, samples * steps * answers.codes.size // MONTE_CARLO_OPS_PER_WORK)
    return oracle_result(answers, k, rule, values, max_work=budget, samples=samples, seed=seed)


def assemble_difficulty(answers: AnswerSet, points: Mapping[tuple[str, int | None], OracleResult],
                        samples: int = SAMPLES) -> dict[str, Any]:
    """Build the difficulty dict (see the module docstring) from one `calibration_point` per setting and k."""
    curves: dict[str, dict[str, float]] = {}
    intervals: dict[str, dict[str, list[float]]] = {}
    for (setting, tokens_per_step), result in points.items():
        curves.setdefault(setting, {})[step_label(tokens_per_step)] = round(float(result.value), DECIMALS)
        if not result.exact:
            intervals.setdefault(setting, {})[step_label(tokens_per_step)] = [
                round(result.low, DECIMALS), round(result.high, DECIMALS)]
    methods = {result.method for result in points.values()}
    tier, score = tier_of(curves)
    difficulty: dict[str, Any] = {
        "calibration": CALIBRATION_VERSION,
        "unit": UNIT,
        "answers": len(answers),
        "slots": answers.length,
        "method": methods.pop() if len(methods) == 1 else "mixed",
        "accuracy": curves,
        "tier": tier,
        "tier_score": score,
    }
    if intervals:
        difficulty["interval_95"] = intervals
        difficulty["samples"] = samples
    return difficulty


def difficulty_of_answers(answers: AnswerSet, **options: Any) -> dict[str, Any]:
    """Calibrate one answer set: every setting at every tokens-per-step value (see the module docstring).

    Args:
        answers: The row's correct answers.
        **options: Keywords of `calibration_point` (``max_work``, ``samples``, ``seed``).

    Returns:
        The difficulty dict, without row-specific fields.
    """
    points = {(setting, k): calibration_point(answers, setting, k, **options)
              for setting in SETTINGS for k in TOKENS_PER_STEP}
    return assemble_difficulty(answers, points, options.get("samples", SAMPLES))


def _answers(row: Mapping[str, Any]) -> list[tuple[str, ...]] | None:
    """A row's correct answers, or None past `ENUMERATION_LIMIT` (known from ``n_answers`` without enumerating)."""
    if row.get("n_answers") is not None and row["n_answers"] > ENUMERATION_LIMIT:
        return None
    return enumerate_answers(row, ENUMERATION_LIMIT)


def _not_enumerable(row: Mapping[str, Any]) -> dict[str, Any]:
    has_enumerator = get_task(row["task"]).enumerate_answers is not None
    reason = (f"more than {ENUMERATION_LIMIT} correct answers" if has_enumerator
              else "the task's correct answers cannot be enumerated")
    return {"calibration": CALIBRATION_VERSION, "unit": UNIT, "enumerable": False, "reason": reason, "tier": None}


def difficulty_of(row: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """Return a row's difficulty: the oracle's accuracy curves and tier, or why there are none.

    Args:
        row: A generated row.
        **options: Keywords of `difficulty_of_answers` (``max_work``, ``samples``, ``seed``).

    Returns:
        A JSON-ready dict (see the module docstring).
    """
    answers = _answers(row)
    if answers is None:
        return _not_enumerable(row)
    return difficulty_of_answers(AnswerSet.from_answers(answers), **options)


def one_blas_thread() -> None:
    """Limit this process to one BLAS thread (the initializer of calibration workers).

    Small matrix products (the oracle's Monte Carlo) run several times faster on one BLAS thread per process.
    """
    threadpool_limits(limits=1, user_api="blas")


def _calibrate_point(job: tuple[np.ndarray, str, int | None]) -> OracleResult:
    # Runs in worker processes: only the structure of the answer set matters, not its unit strings.
    codes, setting, tokens_per_step = job
    return calibration_point(AnswerSet(codes, ()), setting, tokens_per_step)


#: Difficulty JSON per answer-set structure computed in this process (a pure function of the structure), so that
#: rows calibrated in many small batches (a streamed build) cost no more than rows calibrated at once.
_DIFFICULTY_BY_STRUCTURE: dict[bytes, str] = {}
#: The most structures remembered; past it the memo starts again.
MEMO_LIMIT = 4096


def calibrate_rows(rows: Sequence[Mapping[str, Any]], *, workers: int = 1, progress: bool = False,
                   pool: Executor | None = None) -> list[dict[str, Any]]:
    """Return copies of `rows` with the ``difficulty`` column filled (JSON text).

    Rows whose answer sets have the same structure (every shuffle row of one length, say) are computed once per
    process, and the (structure, setting, k) computations are spread over `workers` processes.

    Args:
        rows: Generated rows.
        workers: Processes (the result is the same for any count).
        progress: Show a progress bar.
        pool: An executor to run the computations on instead of starting `workers` processes (a build shares its
            own); its workers should run `one_blas_thread` first.

    Returns:
        New row dicts, in the same order.
    """
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a positive int; got {workers!r}")
    structures: dict[bytes, AnswerSet] = {}
    keys: list[bytes | dict[str, Any]] = []
    for row in rows:
        answers = _answers(row)
        if answers is None:
            keys.append(_not_enumerable(row))
            continue
        answer_set = AnswerSet.from_answers(answers)
        key = hashlib.sha256(np.int64(answer_set.length).tobytes() + answer_set.codes.tobytes()).digest()
        if key not in _DIFFICULTY_BY_STRUCTURE:
            structures.setdefault(key, answer_set)
        keys.append(key)
    jobs = [(key, setting, k) for key in structures for setting in SETTINGS for k in TOKENS_PER_STEP]
    jobs.sort(key=lambda job: -structures[job[0]].codes.size)  # the biggest first balances the workers
    payloads = [(structures[key].codes, setting, k) for key, setting, k in jobs]
    with tqdm(total=len(jobs), unit="point", desc="calibrating (oracle)", disable=not progress or not jobs,
              leave=False) as bar:
        if pool is not None and payloads:
            results = []
            for result in pool.map(_calibrate_point, payloads, chunksize=4):
                results.append(result)
                bar.update()
        elif workers == 1 or len(payloads) <= 1:
            results = []
            with threadpool_limits(limits=1, user_api="blas"):
                for payload in payloads:
                    results.append(_calibrate_point(payload))
                    bar.update()
        else:
            with ProcessPoolExecutor(workers, initializer=one_blas_thread) as own_pool:
                results = []
                for result in own_pool.map(_calibrate_point, payloads, chunksize=4):
                    results.append(result)
                    bar.update()
    points: dict[bytes, dict[tuple[str, int | None], OracleResult]] = {key: {} for key in structures}
    for (key, setting, k), result in zip(jobs, results):
        points[key][(setting, k)] = result
    difficulty = {key: _DIFFICULTY_BY_STRUCTURE[key] for key in keys
                  if isinstance(key, bytes) and key in _DIFFICULTY_BY_STRUCTURE}
    if len(_DIFFICULTY_BY_STRUCTURE) + len(structures) > MEMO_LIMIT:
        _DIFFICULTY_BY_STRUCTURE.clear()
    for key in structures:
        difficulty[key] = _DIFFICULTY_BY_STRUCTURE[key] = json.dumps(assemble_difficulty(structures[key], {
            (setting, k): points[key][(setting, k)] for setting in SETTINGS for k in TOKENS_PER_STEP}), sort_keys=True)
    return [{**row, "difficulty": difficulty[key] if isinstance(key, bytes) else json.dumps(key, sort_keys=True)}
            for row, key in zip(rows, keys)]


def task_curves(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summarise calibrated rows of one task: mean accuracy per setting and k, tier counts, methods.

    Args:
        rows: Calibrated rows (``difficulty`` filled) of one task.

    Returns:
        A JSON-ready dict: ``rows``, ``calibrated_rows``, ``unit``, ``curves`` (setting -> k -> mean accuracy over
        the calibrated rows), ``tiers`` and ``methods`` (counts).
    """
    rows = list(rows)
    difficulties = [json.loads(row["difficulty"]) for row in rows]
    calibrated = [d for d in difficulties if "accuracy" in d]
    curves = {
        name: {step_label(k): round(sum(d["accuracy"][name][step_label(k)] for d in calibrated) / len(calibrated),
                                    DECIMALS) for k in TOKENS_PER_STEP}
        for name in SETTINGS
    } if calibrated else {}
    tiers: dict[str, int] = {}
    methods: dict[str, int] = {}
    for d in difficulties:
        tiers[str(d.get("tier"))] = tiers.get(str(d.get("tier")), 0) + 1
        method = d.get("method", "not_enumerable")
        methods[method] = methods.get(method, 0) + 1
    return {
        "task": rows[0]["task"] if rows else None,
        "calibration": CALIBRATION_VERSION,
        "unit": UNIT,
        "rows": len(rows),
        "calibrated_rows": len(calibrated),
        "curves": curves,
        "tiers": dict(sorted(tiers.items())),
        "methods": dict(sorted(methods.items())),
    }


def write_task_curves(folder: str | os.PathLike[str], config_name: str, curves: Mapping[str, Any]) -> Path:
    """Write one task's curves (from `task_curves`) to ``<folder>/calibration/<config_name>.json``.

    Returns:
        The file written.
    """
    target = Path(folder) / "calibration" / f"{config_name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(curves, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def record_curves(folder: Path, manifest_configs: dict[str, Any], config_name: str,
                  test_rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Write a config's calibration curves to ``calibration/<config>.json`` and summarise them in its manifest entry.

    Args:
        folder: The build folder being written.
        manifest_configs: The manifest's ``configs``; the config's entry gains ``difficulty``.
        config_name: The config.
        test_rows: Its calibrated test rows (only ``task`` and ``difficulty`` are read).

    Returns:
        The curves as written (see `task_curves`).
    """
    curves = task_curves(test_rows)
    write_task_curves(folder, config_name, curves)
    manifest_configs[config_name]["difficulty"] = {key: curves[key] for key in ("curves", "tiers", "unit")}
    return curves


#: Rows read, calibrated and written at a time when a built folder is recalibrated.
BATCH_ROWS = 2_000


def calibrate_folder(folder: str | os.PathLike[str], *, workers: int = 1, progress: bool = False) -> dict[str, Any]:
    """Calibrate a built benchmark folder (a build made with ``calibrate=False``, or one to recalibrate).

    Rewrites the ``difficulty`` column of every Parquet file under ``data/`` (all splits; batch by batch, so memory
    stays flat), writes the per-task curves of the test split to ``calibration/<config>.json``, and renews the card
    and the manifest. The work is done on a copy that replaces the folder only when complete, as a build does.

    Args:
        folder: A folder made by `parallelbench.build`.
        workers: Processes for the calibration.
        progress: Show a progress bar.

    Returns:
        Config name -> its test-split curves (as written to ``calibration/<config>.json``).

    Raises:
        FolderError: When `folder` is not a build, or another process is writing it.
    """
    target = Path(folder)
    manifest = read_manifest(target)
    summaries = {}
    with staged(target, copy=True) as staging, tqdm(unit="row", desc="calibrating (oracle)", disable=not progress) as bar:
        for config_name in sorted(manifest["configs"]):
            test_rows: list[dict[str, Any]] = []
            for path in sorted((staging / "data" / config_name).glob("*.parquet")):
                calibrated = path.with_name(f".{path.name}.calibrated")
                with pq.ParquetWriter(calibrated, ROW_SCHEMA, **PARQUET_OPTIONS) as writer:
                    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                        rows = calibrate_rows(batch.to_pylist(), workers=workers)
                        writer.write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA))
                        bar.update(len(rows))
                        if path.name.startswith("test-"):
                            test_rows += [{"task": row["task"], "difficulty": row["difficulty"]} for row in rows]
                calibrated.replace(path)
            summaries[config_name] = record_curves(staging, manifest["configs"], config_name, test_rows)
        seal(staging, manifest)
    return summaries
