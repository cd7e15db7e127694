"""Oracle calibration of the whole default test split, against a naive baseline in the same run.

The workload is every registered task's default test rows (seed 0, each task's published row count), generated
first and not timed. Then:

- ours: `calibrate_rows(rows, workers=W)`: answer structures shared by many rows computed once, each setting exact
  where that is cheap (memoised up to renaming) and Monte Carlo otherwise; wall time, CPU time of this process and
  of its workers, and how many calibration points were exact;
- the naive baseline: every row on its own, every setting by Monte Carlo through the engine (`SAMPLES` decodes),
  timed on a subset (``--baseline-rows`` enumerable rows per task) and scaled to the split's enumerable rows;
  the ratio baseline / ours.

Target: ours under 10 s on a 2-core machine (``--workers 2``). Nothing here fails on a slow result.

Usage::

    python benchmarks/calibrate.py                    # workers 2, 2 baseline rows per task
    python benchmarks/calibrate.py --workers 1 2 --baseline-rows 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from collections import Counter

from threadpoolctl import threadpool_limits

import parallelbench as pb
from parallelbench.parallel import generate_tasks
from parallelbench.reference_decoding.calibrate import (
    SAMPLES, SETTINGS, TOKENS_PER_STEP, _answers, calibrate_rows,
)
from parallelbench.reference_decoding.oracle import AnswerSet, OracleSetup, monte_carlo_accuracy

TARGET_SECONDS = 10.0


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def naive_row(row: dict) -> None:
    """The baseline: one row alone, every calibrated setting by Monte Carlo."""
    answers = AnswerSet.from_answers(_answers(row))
    for rule, values in SETTINGS.values():
        for k in TOKENS_PER_STEP:
            setup = OracleSetup(answers.length, k if k is not None and k < answers.length else None, rule=rule,
                                values=values)
            monte_carlo_accuracy(answers, setup, SAMPLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--baseline-rows", type=int, default=2, help="enumerable rows per task timed for the baseline")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, {os.cpu_count()} cores visible, "
          f"load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    rows = [row for task_rows in generate_tasks(pb.tasks(), seed=0, workers=max(args.workers)).values()
            for row in task_rows]
    print(f"generated {len(rows)} rows of {len(pb.tasks())} tasks in {time.perf_counter() - started:.1f} s (not timed)")

    ours = {}
    for workers in args.workers:
        cpu, started = cpu_seconds(), time.perf_counter()
        calibrated = calibrate_rows(rows, workers=workers)
        ours[workers] = time.perf_counter() - started
        difficulties = [json.loads(row["difficulty"]) for row in calibrated]
        methods = Counter(d.get("method", "not enumerable") for d in difficulties)
        target = "  (target < %.0f s on 2 cores)" % TARGET_SECONDS if workers == 2 else ""
        print(f"ours, {workers} worker(s): {ours[workers]:.2f} s wall, {cpu_seconds() - cpu:.2f} s CPU{target}")
    structures = {json.dumps(d, sort_keys=True) for d in difficulties if "accuracy" in d}
    points = Counter()
    for text in structures:
        d = json.loads(text)
        inexact = sum(len(by_k) for by_k in d.get("interval_95", {}).values())
        points["monte carlo"] += inexact
        points["exact"] += len(SETTINGS) * len(TOKENS_PER_STEP) - inexact
    print(f"  rows by method: {dict(methods)}")
    print(f"  distinct calibrations: {len(structures)}; points: {dict(points)}")

    enumerable: dict[str, list[dict]] = {}
    for row in rows:
        if len(enumerable.setdefault(row["task"], [])) < args.baseline_rows and _answers(row) is not None:
            enumerable[row["task"]].append(row)
    subset = [row for task_rows in enumerable.values() for row in task_rows]
    total_enumerable = sum(1 for row in rows if _answers(row) is not None)
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # the same BLAS setting as ours, for a fair comparison
        for row in subset:
            naive_row(row)
    per_row = (time.perf_counter() - started) / len(subset)
    baseline = per_row * total_enumerable
    print(f"naive baseline (every row alone, Monte Carlo {SAMPLES} decodes per setting): {per_row * 1000:.0f} ms/row "
          f"on {len(subset)} rows -> {baseline:.0f} s for the {total_enumerable} enumerable rows")
    for workers, seconds in ours.items():
        print(f"ratio baseline / ours ({workers} worker(s)): {baseline / seconds:.0f}x")


if __name__ == "__main__":
    main()
