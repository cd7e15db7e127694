"""The `parallelbench` command line: the public API for the shell.

A user's mistake (any `ParallelBenchError`, or an operating-system error such as a missing file) gives one clear
line on stderr and exit status 2, never a traceback. Anything else is a bug: its traceback is printed, with a line
saying so, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

from .api import score_many
from .build import build
from .cards import render_card
from .errors import ParallelBenchError, UsageError
from .folder import checksum_problems, gold_problems, read_manifest, read_rows
from .hub import push
from .lm_eval_tasks import write_lm_eval_tasks
from .parallel import default_workers, write_tasks
from .reference_decoding.calibrate import calibrate_folder
from .registry import get_task, task_names, task_table_markdown
from .schema import Score


class CliError(UsageError):
    """A mistake in the command line: printed as one line, exit status 2."""


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param takes KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
        if isinstance(params[key], list):
            params[key] = tuple(params[key])
    return params


def cmd_tasks(args: argparse.Namespace) -> None:
    if args.markdown:
        print(task_table_markdown(), end="")
        return
    for name in task_names():
        spec = get_task(name)
        print(f"{name}\t{spec.rows} rows" if args.verbose else name)


def cmd_generate(args: argparse.Namespace) -> None:
    params = _parse_params(args.param)
    names = [get_task(task).name for task in args.tasks]
    out = Path(args.out)
    if len(names) > 1 and out.suffix in (".jsonl", ".parquet"):
        raise CliError("several tasks go to a folder: give --out a folder path, not a file")
    if len(names) == 1 and out.suffix not in (".jsonl", ".parquet"):
        raise CliError(f"--out must end in .jsonl or .parquet for one task, got {out}")
    paths = {name: out if len(names) == 1 else out / f"{get_task(name).config_name}.{args.format}" for name in names}
    workers = default_workers() if args.workers is None else args.workers
    counts = write_tasks(paths, args.n, args.seed, workers=workers, progress=True, **params)
    for name, count in counts.items():
        print(f"{name}: {count} rows -> {paths[name]}")


def _parse_splits(pairs: list[str]) -> dict[str, int | None]:
    splits: dict[str, int | None] = {"test": None}
    for pair in pairs:
        name, sep, rows = pair.partition("=")
        if not sep or not rows.isdigit():
            raise CliError(f"--split takes NAME=ROWS (e.g. train=10000), got {pair!r}")
        splits[name] = int(rows)
    return splits


def cmd_build(args: argparse.Namespace) -> None:
    folder = build(args.out, args.version, tasks=args.tasks or None, splits=_parse_splits(args.split),
                   calibrate=not args.no_calibrate, workers=args.workers, progress=True, overwrite=args.overwrite)
    manifest = read_manifest(folder)
    total = sum(sum(entry["splits"].values()) for entry in manifest["configs"].values())
    print(f"built {folder}: {len(manifest['configs'])} configs, {total} rows")


def _read_predictions(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise CliError(f"predictions file not found: {path}")
    predictions = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                predictions[str(record["id"])] = record["prediction"]
            except (ValueError, KeyError, TypeError):
                raise CliError(f"{path}:{number}: each line must be a JSON object with 'id' and 'prediction'") from None
    return predictions


def cmd_score(args: argparse.Namespace) -> None:
    predictions = _read_predictions(Path(args.predictions))
    rows = read_rows(args.folder, args.split)
    known = {row["id"] for row in rows}
    unknown = [key for key in predictions if key not in known]
    if unknown:
        raise CliError(f"{len(unknown)} prediction ids are not in {args.folder} (first: {unknown[0]})")
    scored = [row for row in rows if row["id"] in predictions]
    if not scored:
        raise CliError("no prediction matches a row of the folder")
    verdicts = score_many(scored, [predictions[row["id"]] for row in scored], strict=args.strict, workers=args.workers)
    by_task: dict[str, list[Score]] = defaultdict(list)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for row, verdict in zip(scored, verdicts):
            by_task[row["task"]].append(verdict)
            handle.write(json.dumps({"id": row["id"], "task": row["task"], "value": verdict.value,
                                     "correct": verdict.correct, "reason": verdict.reason}, ensure_ascii=False) + "\n")
    missing = len(rows) - len(scored)
    print("task\taccuracy\tmean score\trows")
    for task, task_verdicts in sorted(by_task.items()):
        accuracy = sum(v.correct for v in task_verdicts) / len(task_verdicts)
        mean_score = sum(v.value for v in task_verdicts) / len(task_verdicts)
        print(f"{task}\t{accuracy:.4f}\t{mean_score:.4f}\t{len(task_verdicts)}")
    print(f"verdicts -> {out}" + (f"; {missing} rows had no prediction and were skipped" if missing else ""))


def cmd_validate(args: argparse.Namespace) -> None:
    problems = checksum_problems(args.folder) + gold_problems(args.folder)
    for problem in problems:
        print(problem)
    if problems:
        raise CliError(f"{args.folder}: {len(problems)} problems")
    print(f"{args.folder}: checksums match, every gold answer passes")


def cmd_calibrate(args: argparse.Namespace) -> None:
    if args.model:
        from .reference_decoding.empirical import model_curves  # needs the decoding extra (torch)

        result = model_curves(args.folder, args.model, tasks=args.tasks, rows_per_task=args.rows_per_task,
                              rule=args.rule, temperature=args.temperature, progress=True)
        print("task\ttokens per step (asked / realised)\taccuracy\tNFE\ttokens/s")
        for point in result["points"]:
            asked = "all" if point["tokens_per_step"] is None else point["tokens_per_step"]
            print(f"{point['task']}\t{asked} / {point['mean_tokens_per_step']:.2f}\t{point['accuracy']:.3f}\t"
                  f"{point['nfe']:.1f}\t{point['tokens_per_second']:.1f}")
        return
    summaries = calibrate_folder(args.folder, workers=args.workers, progress=True)
    print("config\toracle accuracy, random order, k = 1 / 2 / 4 / all\tcalibrated rows")
    for config_name, summary in summaries.items():
        curve = summary["curves"].get("random/sample")
        shown = " / ".join(f"{curve[k]:.3f}" for k in ("1", "2", "4", "all")) if curve else "-"
        print(f"{config_name}\t{shown}\t{summary['calibrated_rows']}/{summary['rows']}")


def cmd_lm_eval(args: argparse.Namespace) -> None:
    if args.revision and not args.hub_id:
        raise CliError("--revision names a Hub version: give --hub-id with it")
    paths = write_lm_eval_tasks(args.out, args.hub_id or args.folder, args.folder, revision=args.revision)
    print(f"wrote {len(paths)} files to {args.out}; run:")
    print(f"lm_eval --model hf --model_args pretrained=MODEL --include_path {args.out} --tasks parallelbench")


def cmd_card(args: argparse.Namespace) -> None:
    card = render_card(read_manifest(args.folder))
    if args.out:
        Path(args.out).write_text(card, encoding="utf-8")
        print(f"card -> {args.out}")
    else:
        print(card, end="")


def cmd_push(args: argparse.Namespace) -> None:
    plan = push(args.folder, args.repo_id, args.version, dry_run=args.dry_run, private=args.private or None)
    size = f"{len(plan.files)} files, {plan.total_bytes / 1e6:.1f} MB"
    if args.dry_run:
        print(f"dry run: would push {args.folder} ({size}) to {plan.repo_id} as one commit tagged {plan.tag}")
    else:
        print(f"pushed {args.folder} ({size}) to {plan.repo_id} at {plan.commit}, tagged {plan.tag}")


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `parallelbench` command."""
    parser = argparse.ArgumentParser(prog="parallelbench", description="Generate, score and build ParallelBench.")
    commands = parser.add_subparsers(dest="command", required=True)

    tasks = commands.add_parser("tasks", help="list every task")
    tasks.add_argument("-v", "--verbose", action="store_true", help="also show the published row count")
    tasks.add_argument("--markdown", action="store_true", help="print the README's task table (one line per family)")
    tasks.set_defaults(run=cmd_tasks)

    generate = commands.add_parser("generate", help="generate rows of one or more tasks")
    generate.add_argument("tasks", nargs="+", metavar="TASK")
    generate.add_argument("--n", type=int, default=None, help="rows per task (default: the published count)")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", required=True, help="a .jsonl/.parquet file for one task, a folder for several")
    generate.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl", help="file format inside a folder")
    generate.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                          help="a task parameter, VALUE as JSON (e.g. length=[3,6]); repeatable")
    generate.add_argument("--workers", type=int, default=None,
                          help="worker processes (default: every core; the output is the same for any count)")
    generate.set_defaults(run=cmd_generate)

    build_cmd = commands.add_parser("build", help="build the Hub-ready benchmark folder")
    build_cmd.add_argument("--out", default="parallelbench")
    build_cmd.add_argument("--version", default="0.1.0", help="a semantic version, e.g. 1.2.0 (the Hub tag adds the v)")
    build_cmd.add_argument("--tasks", nargs="*", metavar="TASK", help="only these tasks (default: all)")
    build_cmd.add_argument("--split", action="append", default=[], metavar="NAME=ROWS",
                           help="also build this split (validation or train) with ROWS rows per task; repeatable")
    build_cmd.add_argument("--no-calibrate", action="store_true", help="skip the oracle calibration (faster)")
    build_cmd.add_argument("--workers", type=int, default=None,
                           help="worker processes (default: every core; the output is the same for any count)")
    build_cmd.add_argument("--overwrite", action="store_true",
                           help="replace the build already in --out (without it, building over a build is refused)")
    build_cmd.set_defaults(run=cmd_build)

    score = commands.add_parser("score", help="score predictions against a built folder")
    score.add_argument("folder")
    score.add_argument("--predictions", required=True, help="JSONL with 'id' and 'prediction' per line")
    score.add_argument("--out", default="verdicts.jsonl", help="where to write per-row verdicts")
    score.add_argument("--split", default="test")
    score.add_argument("--strict", action="store_true", help="demand exactly the requested output format")
    score.add_argument("--workers", type=int, default=1, help="worker processes (worth it for the text tasks)")
    score.set_defaults(run=cmd_score)

    validate = commands.add_parser("validate", help="check a built folder: checksums and gold answers")
    validate.add_argument("folder")
    validate.set_defaults(run=cmd_validate)

    calibrate = commands.add_parser("calibrate", help="fill a built folder's difficulty column with the oracle's")
    calibrate.add_argument("folder")
    calibrate.add_argument("--workers", type=int, default=1)
    calibrate.add_argument("--model", help="also decode test rows with this dLLM (a tiny-model folder, a local "
                           "model folder or a cached Hub id) and record its curves beside the oracle's")
    calibrate.add_argument("--tasks", nargs="*", metavar="TASK", help="with --model: only these tasks")
    calibrate.add_argument("--rows-per-task", type=int, default=20, help="with --model: test rows per task")
    calibrate.add_argument("--rule", default="random", help="with --model: the selection rule")
    calibrate.add_argument("--temperature", type=float, default=1.0, help="with --model: 0 = argmax values")
    calibrate.set_defaults(run=cmd_calibrate)

    card = commands.add_parser("card", help="render the dataset card of a built folder")
    card.add_argument("folder")
    card.add_argument("--out", help="write the card here instead of printing it")
    card.set_defaults(run=cmd_card)

    lm_eval = commands.add_parser("lm-eval", help="write lm-evaluation-harness task files for a built folder")
    lm_eval.add_argument("folder")
    lm_eval.add_argument("--out", required=True, help="the folder for the task YAMLs and utils.py")
    lm_eval.add_argument("--hub-id", help="load the data from this Hub dataset (org/name) instead of the folder")
    lm_eval.add_argument("--revision", help="the Hub version to load, e.g. v1.0.0 (with --hub-id)")
    lm_eval.set_defaults(run=cmd_lm_eval)

    push_cmd = commands.add_parser("push", help="publish a built folder to the Hugging Face Hub, tagged v<version>")
    push_cmd.add_argument("folder")
    push_cmd.add_argument("--repo-id", required=True, help="the dataset repository, org/name")
    push_cmd.add_argument("--version", help="must equal the folder's built version (default: that version)")
    push_cmd.add_argument("--dry-run", action="store_true", help="check and show the plan; no network")
    push_cmd.add_argument("--private", action="store_true", help="create the repository as private")
    push_cmd.set_defaults(run=cmd_push)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
    try:
        args.run(args)
    except (ParallelBenchError, OSError) as error:
        print(f"parallelbench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("parallelbench: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - not the user's mistake: show everything needed to fix it
        traceback.print_exc()
        print("parallelbench: this is a bug in ParallelBench, not a problem with your input; please report it with "
              "the traceback above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
