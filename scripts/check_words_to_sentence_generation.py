"""Generate every words_to_sentence task at scale and report every row whose gold sentence fails its validator.

Each row's gold answer is checked by the task's own validator as it is made (strict mode, grammar included); a
failure is a `GenerationError`. This script makes rows ``0 .. --rows - 1`` of every words_to_sentence task for each
``--seeds`` seed, in chunks over ``--workers`` processes, keeps going past a failure, and lists every failing row
(task, seed, index, reason). It exits with status 1 if any row failed. The full check (the default: 100,000 rows x
3 seeds x 21 tasks, 6.3 million rows) takes hours on one core; tests/test_words_to_sentence.py samples it in a test
marked slow (``pytest --runslow``).

Usage::

    python scripts/check_words_to_sentence_generation.py                       # the full check
    python scripts/check_words_to_sentence_generation.py --rows 2000 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from parallelbench import tasks
from parallelbench.registry import get_task
from parallelbench.rows import GenerationError, RowMaker

CHUNK = 5_000


def check_chunk(task: str, seed: int, start: int, stop: int) -> tuple[int, list[str]]:
    """Make rows ``start .. stop - 1`` of one task and seed; return how many were made and each failure's message."""
    spec = get_task(task)
    maker = RowMaker(spec, spec.make_config(), seed)
    failures = []
    for index in range(start, stop):
        try:
            maker.row(index)
        except GenerationError as error:
            failures.append(str(error))
    return stop - start, failures


def main(argv: list[str] | None = None) -> int:
    """Run the check; print progress per task and seed, then every failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per task and seed (default 100,000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    names = [name for name in tasks() if name.startswith("words_to_sentence/")]
    jobs = [(name, seed, start, min(start + CHUNK, args.rows))
            for name in names for seed in args.seeds for start in range(0, args.rows, CHUNK)]
    began, made, failures = time.perf_counter(), 0, []
    with ProcessPoolExecutor(args.workers) as pool:
        for (name, seed, start, stop), (count, failed) in zip(jobs, pool.map(check_chunk, *zip(*jobs))):
            made += count
            failures += failed
            if stop == args.rows:
                print(f"{name} seed {seed}: rows 0-{stop - 1} done; {made:,} rows, {len(failures)} failures so far, "
                      f"{made / (time.perf_counter() - began):,.0f} rows/s", flush=True)
    print(f"{made:,} rows of {len(names)} tasks x {len(args.seeds)} seeds; {len(failures)} gold failures")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
