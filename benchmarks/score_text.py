"""Throughput of the full word-constraint check (words_to_sentence) with the default grammar backend (Harper).

The full check is what `pb.score` does for a words_to_sentence row: required words, exactly one sentence, grammar.
Harper's time per sentence dominates it, and Harper caches what it has seen, so every measurement runs in a fresh
process on predictions that no other measurement uses, each made from a different row (the gold sentence, or the
gold with a dropped word, a doubled word, a second sentence, or "balloon" for "ball"). Measured in the same run:

- baseline: the full check with Harper running every default rule but SpellCheck (the configuration before the
  rules whose lints never count were switched off);
- ours: the full check as shipped, in one process and split over `--workers` processes;
- Harper parsing alone (no rule on): the floor that no rule selection can go below.

Target: >= 500 predictions/s on a 2-core machine.

    python benchmarks/score_text.py [--rows 600] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import parallelbench as pb

TARGET = 500.0


def _predictions(rows: list[dict]) -> list[tuple[dict, str]]:
    """One prediction per row, cycling through five kinds: correct, a dropped word, a doubled word, two sentences,
    and a required word made longer ("ball" -> "balloon")."""
    pairs = []
    for i, row in enumerate(rows):
        gold = row["answer"]
        first = json.loads(row["reference"])["words"][0]
        variants = (gold, gold.replace(first, "thing", 1), gold.replace(" the ", " the the ", 1),
                    f"{gold} It happened on day {i}.", gold.replace(first, first + "oon", 1))
        pairs.append((row, variants[i % len(variants)]))
    return pairs


_start_together = None  # a Barrier shared by the worker processes of one measurement


def _init_worker(barrier) -> None:  # noqa: ANN001 - a multiprocessing Barrier
    global _start_together
    _start_together = barrier


def _measure(pairs: list[tuple[dict, str]], configuration: str) -> tuple[int, float, float]:
    """Score `pairs` in this fresh worker process, timed from the moment every worker is ready.

    Returns:
        How many were correct, and the clock times (``time.time()``) the timed part started and ended.
    """
    from parallelbench.scoring import grammar

    linter = grammar.get_backend()._linter()  # built outside the timed part
    if configuration == "baseline":
        linter.set_lint_config({"SpellCheck": False})
    if configuration == "parse-only":
        linter.set_lint_config({rule: False for rule in linter.get_default_lint_config()})
    pb.score(pairs[0][0], "Warm up the scorer.")
    _start_together.wait()
    start = time.time()
    if configuration == "parse-only":
        for _, prediction in pairs:
            linter.lint(prediction, language="plaintext")
        correct = 0
    else:
        correct = sum(pb.score(row, prediction).correct for row, prediction in pairs)
    return correct, start, time.time()


def _run(chunks: list[list[tuple[dict, str]]], configuration: str) -> tuple[int, float]:
    """Measure `chunks` in as many fresh worker processes at once; return the correct count and the seconds from
    the first timed start to the last timed end."""
    spawn = multiprocessing.get_context("spawn")  # fresh workers: no cache filled by generation or another run
    barrier = spawn.Barrier(len(chunks))
    with ProcessPoolExecutor(len(chunks), mp_context=spawn, initializer=_init_worker, initargs=(barrier,)) as pool:
        results = list(pool.map(_measure, chunks, [configuration] * len(chunks)))
    starts, ends = [start for _, start, _ in results], [end for _, _, end in results]
    return sum(correct for correct, _, _ in results), max(ends) - min(starts)


def main() -> None:
    """Measure and print the rates, their ratio and the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600, help="predictions per measurement")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n, workers = args.rows, args.workers
    rows = pb.generate("words_to_sentence/medium", n=4 * n, seed=2024)
    pairs = _predictions(rows)
    baseline, ours, parallel, floor = (pairs[i * n : (i + 1) * n] for i in range(4))
    rates = {}
    for label, part, configuration, processes in (
        ("baseline, 1 process", baseline, "baseline", 1),
        ("ours, 1 process", ours, "ours", 1),
        (f"ours, {workers} processes", parallel, "ours", workers),
        ("Harper parsing alone", floor, "parse-only", 1),
    ):
        correct, seconds = _run([part[i::processes] for i in range(processes)], configuration)
        rates[label] = len(part) / seconds
        print(f"{label:26s} {rates[label]:8,.0f} predictions/s  (correct: {correct} of {len(part)})")
    print(f"ratio ours/baseline (1 process): {rates['ours, 1 process'] / rates['baseline, 1 process']:.2f}")
    best = rates[f"ours, {workers} processes"]
    print(f"target >= {TARGET:.0f}/s on 2 cores: {'met' if best >= TARGET else 'NOT met'} "
          f"({best:,.0f}/s with {workers} processes on {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
