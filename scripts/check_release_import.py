"""Check `parallelbench import-release` against the original release's own code, on a checkout of the release.

Runs the release's loader and scorer from the checkout you give (they are the release's code, imported from your
copy; nothing of it is in this repository) and compares, for every task file:

1. the row count, and every row's chat messages with what the release's loader returns;
2. on the list and puzzle tasks, the release scorer's verdicts (lenient and strict) with ``semantics="release"`` on
   each row's gold, about twenty perturbations of it, other rows' golds and garbage;
3. our semantics on the release's gold: which rows fail, against the rows flagged in ``release_defects``.

Needs the release's loader dependencies (pandas, datasets, pyyaml, numpy, tqdm: all installed with this package);
the release's ``evaluate`` import (used only by its text metrics) is replaced by an empty module. Usage:

    python scripts/check_release_import.py /path/to/ParallelBench
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import parallelbench as pb
from parallelbench.release import import_rows, release_defects


def _release_loader(checkout: Path) -> tuple[Any, list[str]]:
    """Import the release's ``ParallelBench`` class and task list from the checkout."""
    sys.path.insert(0, str(checkout))
    sys.modules.setdefault("evaluate", types.ModuleType("evaluate"))
    from dataset.parallel_bench import PARALLEL_BENCH_TASKS, ParallelBench

    return ParallelBench, list(PARALLEL_BENCH_TASKS)


def _list_predictions(row: dict[str, Any], rng: random.Random) -> list[str]:
    gold, reference = row["answer"], json.loads(row["reference"])
    items, given, new = json.loads(gold), reference["input"], reference.get("item")
    predictions = [gold, json.dumps(items), json.dumps(items, indent=1), "Answer: " + gold, f"```json\n{gold}\n```",
                   gold.lower(), str(items), json.dumps(given), "", "[]", "garbage", f"[[{gold}]]", gold + " ok]",
                   "\n".join(items), ", ".join(items), '["' + '","'.join(items) + '"]', gold.replace('"', "'"),
                   "[" + gold, gold + "]", "\x00\ud800" + gold, f"The final list is {gold}. Done."]
    if len(items) > 1:
        swapped = [items[1], items[0], *items[2:]]
        predictions += [json.dumps(p) for p in (swapped, items[1:], items + items[:1], items[::-1],
                                                items[:-1] + [items[0]], rng.sample(items, len(items)))]
    predictions += [json.dumps(given[:i] + given[i + 1:]) for i in range(len(given))]
    if new:
        predictions += [json.dumps(given[:i] + [new] + given[i:]) for i in range(len(given) + 1)]
        predictions += [json.dumps(given[:i] + [new] + given[i + 1:]) for i in range(len(given))]
        predictions.append(json.dumps(given[:1] + [new, new] + given[1:]))
    return predictions


def _grid_predictions(row: dict[str, Any], rng: random.Random) -> list[str]:
    gold = row["answer"]
    lines = gold.split("\n")
    separator = "," if "," in gold else ""
    columns = zip(*[line.split(",") if separator else list(line) for line in lines])
    return [gold, gold + "\n", " " + gold.replace(",", ", "), "\n".join(lines[::-1]), "\n".join(lines[1:] + lines[:1]),
            "\n".join(lines[:-1]), "", "garbage", f"```\n{gold}\n```", gold.replace("\n", " "),
            "\n".join(line[::-1] for line in lines), "\n".join(",".join(line) for line in lines),
            f"Here:\n{gold}\nDone", gold.replace("1", "2", 1), gold.replace("4", "\u0664"), gold + "\n" + lines[0],
            lines[0] + "\n" + gold, "\n".join(separator.join(column) for column in columns)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of furiosa-ai/ParallelBench")
    args = parser.parse_args()
    release_loader, release_tasks = _release_loader(args.checkout.resolve())
    imported = {file.name: rows for file, rows in import_rows(args.checkout).values()}
    problems = []
    if sorted(imported) != sorted(release_tasks):
        problems.append(f"tasks differ: imported {sorted(imported)}, release {sorted(release_tasks)}")
    rng = random.Random(0)
    compared = predictions = disagreements = 0
    gold_failures: Counter[str] = Counter()
    for task in sorted(set(imported) & set(release_tasks)):
        bench, rows = release_loader(task), imported[task]
        if len(bench) != len(rows):
            problems.append(f"{task}: {len(rows)} rows imported, the release's loader has {len(bench)}")
            continue
        for index, row in enumerate(rows):
            sample = bench[index]
            compared += 1
            if sample["input"]["messages"] != row["messages"]:
                problems.append(f"{task}:{index}: messages differ from the release loader's")
            flagged = ",".join(release_defects(row)) or "unflagged"
            for strict in (False, True):
                if not pb.score(row, row["answer"], strict).correct:
                    gold_failures[f"{task.split('/')[0]} [{flagged}] {'strict' if strict else 'lenient'}"] += 1
            if not task.startswith(("waiting_line", "puzzle")):
                continue
            make = _grid_predictions if task.startswith("puzzle") else _list_predictions
            others = [other["answer"] for other in rng.sample(rows, min(2, len(rows)))]
            for prediction in make(row, rng) + others:
                predictions += 1
                theirs = (float(bench.metric_func(prediction, sample["label"])),
                          float(bench.metric_func(prediction, sample["label"], strict=True)))
                ours = pb.score(row, prediction, semantics="release")
                if (ours.details["score"], ours.details["score_strict"]) != theirs:
                    disagreements += 1
                    if disagreements <= 5:
                        problems.append(f"{task}:{index}: release {theirs}, ours {ours.details} on {prediction!r:.80}")
    print(f"{len(imported)} configs, {compared} rows: messages compared with the release's loader")
    print(f"{predictions} list/puzzle predictions x 2 modes: {disagreements} disagreements with the release's scorer")
    print("gold answers failing our semantics (group [defects] mode: rows):")
    for key, count in sorted(gold_failures.items()):
        print(f"  {key}: {count}")
    for problem in problems:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
