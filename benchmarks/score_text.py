"""Throughput of word-constraint scoring (words_to_sentence) with the default grammar backend.

Prints predictions per second for our full check (words + one sentence + grammar) next to two baselines measured in
the same run on the same predictions: the original release's substring test (no grammar, accepts "balloon" for
"ball") and the grammar backend called alone. Every prediction is distinct and the caches are cleared first, so the
rates are not inflated by repeated texts. Target: >= 500 predictions/s on 2 cores.

    python benchmarks/score_text.py [--rows 400] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import parallelbench as pb
from parallelbench.scoring import grammar


def _predictions(rows: list[dict]) -> list[str]:
    """Five distinct predictions per row: the gold, a dropped word, a doubled word, two sentences, a balloon swap."""
    out = []
    for i, row in enumerate(rows):
        gold = row["answer"]
        first = json.loads(row["reference"])["words"][0]
        out += [
            gold,
            gold.replace(first, "thing", 1),
            gold.replace(" the ", " the the ", 1),
            f"{gold} It happened on day {i}.",
            gold.replace(first, first + "oon", 1),
        ]
    return out


def _score_chunk(chunk: list[tuple[dict, str]]) -> int:
    return sum(pb.score(row, prediction).correct for row, prediction in chunk)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> None:
    """Measure and print the rates and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = pb.generate("words_to_sentence/medium", n=args.rows, seed=123)
    predictions = _predictions(rows)
    pairs = [(rows[i // 5], p) for i, p in enumerate(predictions)]
    grammar.get_backend()  # build the linter outside the timed part

    start = time.perf_counter()
    substring_ok = sum(all(w in p.lower() for w in json.loads(r["reference"])["words"]) for r, p in pairs)
    substring = _rate(len(pairs), time.perf_counter() - start)

    backend = grammar.get_backend()
    start = time.perf_counter()
    for prediction in predictions:
        backend.check(prediction)
    backend_only = _rate(len(pairs), time.perf_counter() - start)

    grammar._check_cached.cache_clear()
    start = time.perf_counter()
    ours_ok = sum(pb.score(row, prediction).correct for row, prediction in pairs)
    ours = _rate(len(pairs), time.perf_counter() - start)

    chunks = [pairs[i :: args.workers] for i in range(args.workers)]
    # "spawn": fresh workers, so they do not inherit the grammar cache that the runs above filled.
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_score_chunk, [[(rows[0], "Warm up the linter.")]] * args.workers))
        start = time.perf_counter()
        parallel_ok = sum(pool.map(_score_chunk, chunks))
        parallel = _rate(len(pairs), time.perf_counter() - start)

    print(f"predictions: {len(pairs)} ({len(rows)} rows x 5 variants), grammar backend: {backend.version}")
    print(f"original substring check : {substring:12,.0f} /s  (accepted {substring_ok})")
    print(f"grammar backend alone    : {backend_only:12,.0f} /s")
    print(f"full check, 1 process    : {ours:12,.0f} /s  (accepted {ours_ok})")
    print(f"full check, {args.workers} processes  : {parallel:12,.0f} /s  (accepted {parallel_ok})")
    print(f"ratio full/backend alone : {ours / backend_only:.2f}")
    print(f"ratio full/substring     : {ours / substring:.4f}")
    print(f"target >= 500 /s on 2 cores: {'met' if parallel >= 500 else 'NOT met'}")


if __name__ == "__main__":
    main()
