"""The `parallelbench` command line: the public API for the shell.

A user's mistake (any `ParallelBenchError`, or an operating-system error such as a missing file) gives one clear
line on stderr and exit status 2, never a traceback. Anything else is a bug: its traceback is printed, with a line
saying so, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .api import SEMANTICS
from .errors import ParallelBenchError, UsageError
from .parallel import default_workers, write_tasks
from .registry import get_task, task_names, task_table_markdown

# Each other command imports what it needs when it runs, so that `parallelbench generate` (the command that is run
# at scale) does not load the building, publishing, reporting and calibration code.


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
    from .builder import build
    from .folder import read_manifest

    folder = build(args.out, args.version, tasks=args.tasks or None, splits=_parse_splits(args.split),
                   calibrate=not args.no_calibrate, workers=args.workers, progress=True, overwrite=args.overwrite)
    manifest = read_manifest(folder)
    total = sum(sum(entry["splits"].values()) for entry in manifest["configs"].values())
    print(f"built {folder}: {len(manifest['configs'])} configs, {total} rows")


def cmd_score(args: argparse.Namespace) -> None:
    from .folder import read_manifest, read_rows
    from .release import is_release_edition, semantics_table
    from .report import group_label, read_predictions, score_predictions, write_report, write_verdicts

    predictions = read_predictions(args.predictions)
    rows = read_rows(args.folder, args.split)
    result = score_predictions(rows, predictions, skip_missing=args.skip_missing, workers=args.workers,
                               semantics=args.semantics)
    write_verdicts(result, args.out)
    print("group\ttask\tn\taccuracy\tstrict accuracy\tmean score\tmissing")
    for entry in result.summary:
        print(f"{group_label(result.fields, entry)}\t{entry['task']}\t{entry['n']}\t{entry['accuracy']:.4f}\t"
              f"{entry['strict_accuracy']:.4f}\t{entry['mean_score']:.4f}\t{entry['missing']}")
    if result.missing:
        how = ("left out (--skip-missing)" if result.skip_missing
               else "counted as wrong (--skip-missing leaves them out)")
        print(f"{result.missing} rows of the predicted tasks had no prediction in their group: {how}")
    print(f"verdicts -> {args.out}")
    if args.report:
        for path in write_report(result, rows, args.report, parallelism=(args.auc_range[0], args.auc_range[1])):
            print(f"report -> {path}")
    if is_release_edition(read_manifest(args.folder)):
        by_id = {row["id"]: row for row in rows}
        print("\nthe original release's rows: both semantics side by side (all predictions)")
        for line in semantics_table([by_id[p.id] for p in predictions.predictions],
                                    [p.text for p in predictions.predictions]):
            print(line)


def cmd_sweep(args: argparse.Namespace) -> None:
    from .sweep import parse_tokens_per_step, sweep  # needs the decoding extra (torch)

    result = sweep(args.folder, args.model, args.out, tasks=args.tasks, rows_per_task=args.rows_per_task,
                   rules=args.rules, tokens_per_step=parse_tokens_per_step(args.tokens_per_step),
                   thresholds=args.thresholds, temperature=args.temperature, block_length=args.block_length,
                   batch_size=args.batch_size, seed=args.seed, progress=True)
    print(f"{result['predictions']} predictions ({result['rows']} rows x {result['settings']} settings) -> {args.out}")
    for task, reason in result["skipped_tasks"].items():
        print(f"{task}\tskipped: {reason}")
    if args.report:
        cmd_score(argparse.Namespace(folder=args.folder, predictions=args.out, split="test", skip_missing=True,
                                     workers=1, out=str(Path(args.report) / "verdicts.jsonl"), report=args.report,
                                     semantics="parallelbench",
                                     auc_range=args.auc_range))


def cmd_import_release(args: argparse.Namespace) -> None:
    from .folder import read_manifest
    from .release import import_release

    folder = import_release(args.path, args.out, version=args.version, calibrate=not args.no_calibrate,
                            workers=args.workers, progress=True, overwrite=args.overwrite)
    manifest = read_manifest(folder)
    total = sum(entry["splits"]["test"] for entry in manifest["configs"].values())
    commit = manifest["source"]["commit"] or "no git commit found"
    print(f"imported {folder}: {len(manifest['configs'])} configs, {total} rows from {args.path} ({commit}); "
          "the rows carry no license: keep them local")


def cmd_validate(args: argparse.Namespace) -> None:
    from .folder import checksum_problems, gold_problems, read_manifest
    from .release import is_release_edition, release_gold_problems

    known = 0
    if is_release_edition(read_manifest(args.folder)):
        gold, known = release_gold_problems(args.folder)
    else:
        gold = gold_problems(args.folder, progress=True)
    problems = checksum_problems(args.folder) + gold
    for problem in problems:
        print(problem)
    if problems:
        raise CliError(f"{args.folder}: {len(problems)} problems" + (f" ({known} flagged rows aside)" if known else ""))
    print(f"{args.folder}: checksums match, every gold answer passes"
          + (f" except {known} rows flagged in metadata release_defects" if known else ""))


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
        for task, reason in result["skipped_tasks"].items():
            print(f"{task}\tskipped: {reason}")
        return
    from .reference_decoding.calibrate import calibrate_folder

    summaries = calibrate_folder(args.folder, workers=args.workers, progress=True)
    print("config\toracle accuracy, random order, k = 1 / 2 / 4 / all\tcalibrated rows")
    for config_name, summary in summaries.items():
        curve = summary["curves"].get("random/sample")
        shown = " / ".join(f"{curve[k]:.3f}" for k in ("1", "2", "4", "all")) if curve else "-"
        print(f"{config_name}\t{shown}\t{summary['calibrated_rows']}/{summary['rows']}")


def cmd_lm_eval(args: argparse.Namespace) -> None:
    from .lm_eval_tasks import write_lm_eval_tasks

    if args.revision and not args.hub_id:
        raise CliError("--revision names a Hub version: give --hub-id with it")
    paths = write_lm_eval_tasks(args.out, args.hub_id or args.folder, args.folder, revision=args.revision)
    print(f"wrote {len(paths)} files to {args.out}; run:")
    print(f"lm_eval --model hf --model_args pretrained=MODEL --include_path {args.out} --tasks parallelbench")


def cmd_card(args: argparse.Namespace) -> None:
    from .cards import render_card
    from .folder import read_manifest
    from .hub import hub_files

    if args.repo_id:
        card = hub_files(args.folder, args.repo_id, args.code_url)[0]["README.md"].decode("utf-8")
    else:
        card = render_card(read_manifest(args.folder))
    if args.out:
        Path(args.out).write_text(card, encoding="utf-8")
        print(f"card -> {args.out}")
    else:
        print(card, end="")


def cmd_push(args: argparse.Namespace) -> None:
    from .hub import push

    plan = push(args.folder, args.repo_id, args.version, dry_run=args.dry_run, private=args.private or None,
                i_have_the_rights=args.i_have_the_rights, code_url=args.code_url)
    for note in plan.notes:
        print(f"note: {note}")
    size = f"{len(plan.files)} files, {plan.total_bytes / 1e6:.1f} MB"
    if args.dry_run:
        print(f"dry run: would push {args.folder} ({size}) to {plan.repo_id} as one commit tagged {plan.tag}")
    elif plan.resumed:
        print(f"{plan.repo_id}: the commit {plan.commit} of an earlier push already holds {args.folder}; "
              f"tagged it {plan.tag}")
    else:
        print(f"pushed {args.folder} ({size}) to {plan.repo_id} at {plan.commit}, tagged {plan.tag}")


class _PrintVersion(argparse.Action):
    """``--version``: print the installed version and exit (looked up only then: finding it takes a while)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from . import __version__

        print(f"parallelbench {__version__}")
        parser.exit()


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `parallelbench` command."""
    parser = argparse.ArgumentParser(prog="parallelbench", description="Generate, score and build ParallelBench.")
    parser.add_argument("--version", action=_PrintVersion)
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
    score.add_argument("--predictions", required=True,
                       help="JSONL with 'id' and 'prediction' per line, and optional group fields (model, "
                       "tokens_per_step, rule, threshold, nfe, any other) for several predictions per row")
    score.add_argument("--out", default="verdicts.jsonl", help="where to write per-row verdicts")
    score.add_argument("--report", metavar="DIR",
                       help="also write summary.csv, summary.json, verdicts and speed-quality PNGs into DIR")
    score.add_argument("--skip-missing", action="store_true",
                       help="leave rows without a prediction out (default: they count as wrong)")
    score.add_argument("--auc-range", type=float, nargs=2, default=(1.0, 8.0), metavar=("LOW", "HIGH"),
                       help="tokens-per-step range of the area under each speed-quality curve (default 1 8)")
    score.add_argument("--split", default="test")
    score.add_argument("--workers", type=int, default=1, help="worker processes (worth it for the text tasks)")
    score.add_argument("--semantics", choices=SEMANTICS, default="parallelbench",
                       help="whose verdicts go to --out: our validators, or the original release's scorer "
                            "(rows imported with import-release)")
    score.set_defaults(run=cmd_score)

    import_cmd = commands.add_parser("import-release", help="import the original release's test rows into a "
                                     "build folder (local use only: they carry no license)")
    import_cmd.add_argument("path", help="a checkout of furiosa-ai/ParallelBench, or its "
                            "dataset/parallel_bench/data/output/test folder")
    import_cmd.add_argument("--out", required=True, help="the build folder to write")
    import_cmd.add_argument("--version", default="0.1.0")
    import_cmd.add_argument("--no-calibrate", action="store_true", help="skip the oracle calibration (faster)")
    import_cmd.add_argument("--overwrite", action="store_true", help="replace a previous import in --out")
    import_cmd.add_argument("--workers", type=int, default=1)
    import_cmd.set_defaults(run=cmd_import_release)

    sweep_cmd = commands.add_parser("sweep", help="decode test rows with a dLLM over tasks x tokens per step x "
                                    "rules into a predictions file (and its report)")
    sweep_cmd.add_argument("folder")
    sweep_cmd.add_argument("--model", required=True, help="a tiny-model folder, a local model folder, a cached Hub "
                           "id or a short name (llada, dream)")
    sweep_cmd.add_argument("--out", required=True, help="the predictions file (JSONL) to write")
    sweep_cmd.add_argument("--tasks", nargs="*", metavar="TASK", help="only these tasks (default: all)")
    sweep_cmd.add_argument("--rows-per-task", type=int, help="test rows per task, spread over lengths (default: all)")
    sweep_cmd.add_argument("--rules", nargs="+", default=["random", "confidence"], help="selection rules")
    sweep_cmd.add_argument("--tokens-per-step", nargs="+", default=["1", "2", "4", "all"], metavar="K",
                           help="k per step for the fixed-step rules; 'all' = every slot at once")
    sweep_cmd.add_argument("--thresholds", nargs="+", type=float, default=[],
                           help="values of the threshold (or factor) rule")
    sweep_cmd.add_argument("--temperature", type=float, default=0.0, help="0 = argmax values")
    sweep_cmd.add_argument("--block-length", type=int, help="semi-autoregressive blocks of this many slots")
    sweep_cmd.add_argument("--batch-size", type=int, default=8)
    sweep_cmd.add_argument("--seed", type=int, default=0)
    sweep_cmd.add_argument("--report", metavar="DIR", help="then score the predictions into a report in DIR "
                           "(rows not decoded are left out)")
    sweep_cmd.add_argument("--auc-range", type=float, nargs=2, default=(1.0, 8.0), metavar=("LOW", "HIGH"))
    sweep_cmd.set_defaults(run=cmd_sweep)

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
    card.add_argument("--repo-id", help="render the card that `push` publishes to this Hub repository (org/name)")
    card.add_argument("--code-url", help="with --repo-id: the package's source repository, for the install line")
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
    push_cmd.add_argument("--i-have-the-rights", action="store_true",
                          help="confirm you may redistribute the rows (needed to push an imported release edition)")
    push_cmd.add_argument("--code-url", help="the package's source repository, for the card's install line and link "
                          "(default: the package metadata's)")
    push_cmd.set_defaults(run=cmd_push)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
    try:
        args.run(args)
    except BrokenPipeError:  # the reader stopped before the command finished: its outcome is unknown
        _stop_writing_stdout()
        return 1
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
    try:
        sys.stdout.flush()  # here rather than at exit, so that a reader that stopped early is seen
    except BrokenPipeError:  # the command finished; only its reader stopped early (`parallelbench tasks | head`)
        _stop_writing_stdout()
    return 0


def _stop_writing_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone, so that Python's flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout has no file descriptor (an in-process caller's buffer)
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
