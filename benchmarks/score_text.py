"""Throughput of the full word-constraint check (words_to_sentence): grammar backend (Harper) and coherence judge.

The full check is what `pb.score` does for a words_to_sentence row: required words, exactly one sentence, grammar,
and the coherence judge (Link Grammar), which reads only answers that passed the other checks. Harper caches what it
has seen, so every measurement runs in a fresh process on predictions that no other measurement uses, each made from
a different row (the gold sentence, or the gold with a dropped word, a doubled word, a second sentence, or "balloon"
for "ball": so one prediction in five reaches the judge). Measured in the same run:

- baseline: the full check with Harper running every default rule but SpellCheck (the configuration before the
  rules whose lints never count were switched off);
- ours: the full check as shipped, in one process and split over `--workers` processes;
- ours on gold answers only: every prediction passes the cheap checks, so the judge parses every one (the worst
  case for throughput);
- Harper parsing alone (no rule on): the floor that no rule selection can go below.

Each line gives predictions per second of wall-clock time and per CPU-second of the worker processes: on a shared
machine other jobs slow the first, and the second says what a free core would do.

Target: >= 500 predictions/s on a 2-core machine.

    python benchmarks/score_text.py [--rows 400] [--workers 2] [--repeats 3]
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


def _predictions(rows: list[dict], gold_only: bool = False) -> list[tuple[dict, str]]:
    """One prediction per row, cycling through five kinds: correct, a dropped word, a doubled word, two sentences,
    and a required word made longer ("ball" -> "balloon"); or the gold sentence of every row."""
    if gold_only:
        return [(row, row["answer"]) for row in rows]
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


def _measure(pairs: list[tuple[dict, str]], configuration: str) -> tuple[float, float, float]:
    """Score `pairs` in this fresh worker process, timed from the moment every worker is ready.

    Returns:
        The clock times (``time.time()``) the timed part started and ended, and the CPU seconds this process spent
        in it.
    """
    from parallelbench.scoring import grammar
    from parallelbench.scoring.coherence import judge_coherence

    linter = grammar.get_backend()._linter()  # built outside the timed part
    if configuration == "baseline":
        linter.set_lint_config({"SpellCheck": False})
    if configuration == "parse-only":
        linter.set_lint_config({rule: False for rule in linter.get_default_lint_config()})
    pb.score(pairs[0][0], "Warm up the scorer.")
    judge_coherence("The dogs warmed up a glorpy judge.")  # loads the parser and the word lexicon
    _start_together.wait()
    start, cpu = time.time(), time.process_time()
    for row, prediction in pairs:
        if configuration == "parse-only":
            linter.lint(prediction, language="plaintext")
        else:
            pb.score(row, prediction)
    return start, time.time(), time.process_time() - cpu


def _run(chunks: list[list[tuple[dict, str]]], configuration: str) -> tuple[float, float]:
    """Measure `chunks` in as many fresh worker processes at once; return the seconds from the first timed start to
    the last timed end, and the CPU seconds of all workers together."""
    spawn = multiprocessing.get_context("spawn")  # fresh workers: no cache filled by generation or another run
    barrier = spawn.Barrier(len(chunks))
    with ProcessPoolExecutor(len(chunks), mp_context=spawn, initializer=_init_worker, initargs=(barrier,)) as pool:
        results = list(pool.map(_measure, chunks, [configuration] * len(chunks)))
    starts, ends, cpus = zip(*results)
    return max(ends) - min(starts), sum(cpus)


def main() -> None:
    """Measure each configuration `--repeats` times on fresh predictions; print the best rates, ratios, target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help="predictions per measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="measurements per configuration; the best counts")
    args = parser.parse_args()
    n, workers = args.rows, args.workers
    configurations = (
        ("baseline, 1 process", "baseline", 1),
        ("ours, 1 process", "ours", 1),
        (f"ours, {workers} processes", "ours", workers),
        (f"ours, gold only, {workers} processes", "gold", workers),
        ("Harper parsing alone", "parse-only", 1),
    )
    rows = pb.generate("words_to_sentence/medium", n=len(configurations) * args.repeats * n, seed=2024)
    mixed = iter(_predictions(rows)[i : i + n] for i in range(0, len(rows), n))
    gold_rows = pb.generate("words_to_sentence/medium", n=args.repeats * n, seed=2025)
    golds = iter(_predictions(gold_rows, gold_only=True)[i : i + n] for i in range(0, len(gold_rows), n))
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so a burst of load on the machine hits every configuration
        for label, configuration, processes in configurations:
            part = next(golds) if configuration == "gold" else next(mixed)
            seconds, cpu_seconds = _run([part[i::processes] for i in range(processes)], configuration)
            wall[label] = max(wall.get(label, 0.0), len(part) / seconds)
            cpu[label] = max(cpu.get(label, 0.0), len(part) / cpu_seconds)
    print(f"{n} fresh predictions per measurement, best of {args.repeats}; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    for label, _, _ in configurations:
        print(f"{label:26s} {wall[label]:8,.0f} predictions/s   {cpu[label]:8,.0f} per CPU-second")
    print(f"ratio ours/baseline, 1 process: {wall['ours, 1 process'] / wall['baseline, 1 process']:.2f} "
          f"(per CPU-second: {cpu['ours, 1 process'] / cpu['baseline, 1 process']:.2f})")
    best = wall[f"ours, {workers} processes"]
    print(f"target >= {TARGET:.0f}/s on 2 cores: {'met' if best >= TARGET else 'NOT met'} ({best:,.0f}/s with "
          f"{workers} processes; two free cores would give about {2 * cpu['ours, 1 process']:,.0f}/s)")


if __name__ == "__main__":
    main()
