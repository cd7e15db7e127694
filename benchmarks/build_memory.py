"""Peak memory and speed of a large build, as a user runs it: `parallelbench build` with a big train split.

For each ``--rows`` total (train rows over the 10 ``waiting_line/*`` tasks), runs::

    parallelbench build --tasks <10 waiting_line tasks> --split train=<rows / 10> --no-calibrate --out <tmp>

in a fresh process and prints rows/s and two peaks: the main process's peak RSS (``ru_maxrss`` from ``wait4``,
exact) and the peak of the sum of RSS over the main process and its workers (sampled every 50 ms from /proc, so it
may miss a short spike). The target (issue 12) is a main-process peak under 1 GB at 1,000,000 rows, and the same
within 20% at 100,000 rows. Linux only (reads /proc).

Usage::

    nice python benchmarks/build_memory.py                       # 100,000 and 1,000,000 rows
    nice python benchmarks/build_memory.py --rows 100000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TASKS = [f"waiting_line/{operation}" for operation in (
    "copy", "insert_index", "insert_random", "remove_index", "remove_random", "replace_index", "replace_random",
    "reverse", "shuffle", "sort")]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as handle:
                children = [int(child) for child in handle.read().split()]
        except OSError:
            children = []
        found += children
        frontier += children
    return found


def run_build(rows: int, workers: int | None, folder: Path) -> tuple[float, int, int]:
    """Run one build; return (seconds, main-process peak RSS in bytes, sampled peak RSS of the process tree)."""
    command = [sys.executable, "-m", "parallelbench.cli", "build", "--tasks", *TASKS, "--split",
               f"train={rows // len(TASKS)}", "--no-calibrate", "--out", str(folder)]
    if workers is not None:
        command += ["--workers", str(workers)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=tempfile.gettempdir())
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.is_set():
            tree_peak = max(tree_peak, sum(map(_rss, [process.pid, *_descendants(process.pid)])))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"build failed with exit status {process.returncode}: {' '.join(command)}")
    return seconds, usage.ru_maxrss * 1024, tree_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="train rows in all")
    parser.add_argument("--workers", type=int, default=None, help="--workers of the build (default: every core)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("train rows\ttotal rows\tseconds\trows/s\tmain peak RSS (MB)\tprocess-tree peak RSS (MB, sampled)")
    for rows in args.rows:
        folder = Path(tempfile.mkdtemp(prefix="pb-build-memory-")) / "parallelbench"
        try:
            seconds, main_peak, tree_peak = run_build(rows, args.workers, folder)
        finally:
            shutil.rmtree(folder.parent, ignore_errors=True)
        total = rows + 100 * len(TASKS)  # plus the test split
        print(f"{rows}\t{total}\t{seconds:.1f}\t{total / seconds:,.0f}\t{main_peak / 1e6:,.0f}\t{tree_peak / 1e6:,.0f}",
              flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
