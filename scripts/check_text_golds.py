"""Generate many rows of the text tasks and report every gold answer that fails its own validator.

Generation checks each gold answer against the task's validator (strict mode) and raises `GenerationError` on the
first failure; this script generates rows in chunks, records each failure, and goes on after it, so one run lists
them all. The issue's target: every text task, 100,000 rows, 3 seeds, no failure.

    python scripts/check_text_golds.py                                   # every text task, 100,000 rows x seeds 0-2
    python scripts/check_text_golds.py --tasks paraphrase_summarize/paraphrase --rows 20000 --workers 2

Prints one line per failure and a summary per task (rows checked, failures, seconds); exits 1 when any gold failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import parallelbench as pb

#: The families whose tasks are text tasks.
TEXT_FAMILIES = ("words_to_sentence", "paraphrase_summarize")
#: Rows generated per unit of work.
CHUNK = 2_000

_FAILED_INDEX = re.compile(r" index=(\d+): ")


def _check_chunk(task: str, seed: int, start: int, count: int) -> list[str]:
    """Generate rows start..start+count-1 and return the message of every gold failure among them."""
    failures, end = [], start + count
    while start < end:
        try:
            pb.generate(task, n=end - start, seed=seed, start=start)
            break
        except pb.GenerationError as error:
            failures.append(str(error))
            start = int(_FAILED_INDEX.search(str(error)).group(1)) + 1
    return failures


def main(argv: list[str] | None = None) -> int:
    """Run the check; return 1 when any gold answer failed, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", help="task names (default: every text task)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per task and seed (default 100000)")
    parser.add_argument("--start", type=int, default=0, help="index of the first row (default 0), to resume a check")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args(argv)
    tasks = args.tasks or [name for name in pb.tasks() if name.split("/")[0] in TEXT_FAMILIES]
    any_failed = False
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for task in tasks:
            began = time.perf_counter()
            end = args.start + args.rows
            jobs = [pool.submit(_check_chunk, task, seed, start, min(CHUNK, end - start))
                    for seed in args.seeds for start in range(args.start, end, CHUNK)]
            failures = [message for job in jobs for message in job.result()]
            for message in failures:
                print(message)
            any_failed |= bool(failures)
            print(f"{task}: {args.rows * len(args.seeds)} rows (indices {args.start}-{end - 1}, seeds "
                  f"{' '.join(map(str, args.seeds))}), "
                  f"{len(failures)} gold failures, {time.perf_counter() - began:.0f} s", flush=True)
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
