"""Reports from prediction files: accuracy per setting and task, failure classes, speed-quality plots.

A prediction file is JSON lines, one prediction each::

    {"id": "...", "prediction": "...", "model": "tiny", "tokens_per_step": 2, "rule": "random", "log": {"nfe": 3}}

``id`` and ``prediction`` are required. Every other field except the reserved ones (`RESERVED_FIELDS`) is a *group
field*: `GROUP_FIELDS` (``model``, ``tokens_per_step``, ``rule``, ``threshold``, ``nfe``) and any other (e.g.
``temperature``), kept as part of the group key; a line without a field has it as null. A file may thus hold any
number of predictions per row, one per group; a second line with the same (id, group) is an error naming both lines.
``log`` holds per-sample measurements that are not settings (realised ``nfe`` and ``tokens_per_step``, as written by
``parallelbench sweep``): they are averaged per group and task, never grouped by.

Scoring (`score_predictions`): each prediction is scored leniently and, when that passes, strictly (an answer that
fails the lenient check cannot pass the strict one). The tasks of the report are those with at least one prediction
in the file; in every group, a row of those tasks without a prediction counts as wrong (failure class
``missing_prediction``), or is left out with ``skip_missing``. Per group and task the summary gives n, accuracy,
strict accuracy, mean score, the failure classes (``details["failure"]`` of the list and grid checkers, ``other``
for a failed verdict that names none) and the mean logged measurements; each group also gets an ``overall`` row,
weighted by size.

`write_report` writes ``summary.csv``, ``summary.json``, ``verdicts.jsonl`` and one speed-quality PNG per family
(accuracy against tokens per step, one line per model and rule, the oracle's curve from the rows' calibration beside
them, the area under each curve over a stated range; see `reference_decoding.report`).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import score_many
from .reference_decoding import report as curves_report
from .validators import puzzle, waiting_line
from .errors import UsageError

#: Fields of a prediction line that are not group fields.
RESERVED_FIELDS: tuple[str, ...] = ("id", "prediction", "task", "log")
#: The usual group fields, shown first in this order; any other non-reserved field follows, sorted.
GROUP_FIELDS: tuple[str, ...] = ("model", "tokens_per_step", "rule", "threshold", "nfe")
#: Group fields that vary *along* a speed-quality curve rather than naming it.
CURVE_AXIS_FIELDS: tuple[str, ...] = ("tokens_per_step", "threshold", "nfe", "steps")
#: The task name of a group's size-weighted overall row.
OVERALL = "overall"
MISSING = "missing_prediction"
#: Every failure class a report counts, in column order (a class a checker adds later gets a column after them).
FAILURE_CLASSES: tuple[str, ...] = tuple(dict.fromkeys(
    (MISSING, *waiting_line.FAILURE_CLASSES, *puzzle.FAILURE_CLASSES, "other")))
#: Per-sample measurements of ``log`` that the summary averages.
LOGGED: tuple[str, ...] = ("nfe", "tokens_per_step")
#: Columns of the verdicts and the summary, which no group field may share a name with.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "value", "correct", "strict_correct", "reason", "failure", "details", "n", "accuracy", "strict_accuracy",
    "mean_score", "missing", "failures", *(f"mean_logged_{name}" for name in LOGGED))


@dataclass(frozen=True)
class Prediction:
    """One line of a prediction file.

    Attributes:
        line: Its 1-based line number.
        id: The row id.
        text: The prediction.
        group: The group key: one value per field of `PredictionFile.fields`.
        log: Per-sample measurements.
    """

    line: int
    id: str
    text: str
    group: tuple[Any, ...]
    log: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictionFile:
    """A parsed prediction file: the group fields it uses and its predictions, in file order."""

    path: Path
    fields: tuple[str, ...]
    predictions: tuple[Prediction, ...]


def _group_value(path: Path, number: int, name: str, value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise UsageError(f"{path}:{number}: group field {name!r} must be a string, number, boolean or null; "
                     f"got {json.dumps(value)[:60]}")


def read_predictions(path: str | os.PathLike[str]) -> PredictionFile:
    """Read and check a prediction file (see the module docstring).

    Args:
        path: The JSON lines file.

    Returns:
        The `PredictionFile`.

    Raises:
        FileNotFoundError: When the file does not exist.
        UsageError: Naming the line, for a line that is not a JSON object with ``id`` and a string ``prediction``,
            a group field that is not a scalar or is named like a report column (`OUTPUT_COLUMNS`), a ``log`` that
            is not an object, or a duplicate (id, group).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    records: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("prediction"), str):
                raise UsageError(f"{path}:{number}: each line must be a JSON object with 'id' and a string "
                                 "'prediction'")
            if not isinstance(record.get("log", {}), dict):
                raise UsageError(f"{path}:{number}: 'log' must be a JSON object of measurements")
            records.append((number, record))
    seen = {name for _, record in records for name in record if name not in RESERVED_FIELDS}
    clashes = sorted(seen & set(OUTPUT_COLUMNS))
    if clashes:
        number = next(number for number, record in records if clashes[0] in record)
        raise UsageError(f"{path}:{number}: a group field may not be called {clashes[0]!r} (a column of the report)")
    fields = tuple([name for name in GROUP_FIELDS if name in seen] + sorted(seen - set(GROUP_FIELDS)))
    predictions = []
    first_line: dict[tuple[str, tuple[Any, ...]], int] = {}
    for number, record in records:
        group = tuple(_group_value(path, number, name, record.get(name)) for name in fields)
        key = (str(record["id"]), group)
        if key in first_line:
            shown = ", ".join(f"{name}={value}" for name, value in zip(fields, group)) or "no group fields"
            raise UsageError(f"{path}:{number}: duplicate prediction for id {key[0]!r} ({shown}); "
                             f"the first is on line {first_line[key]}")
        first_line[key] = number
        predictions.append(Prediction(number, key[0], record["prediction"], group, record.get("log", {})))
    return PredictionFile(path, fields, tuple(predictions))


@dataclass
class Report:
    """The scored predictions of one file.

    Attributes:
        fields: The group fields.
        verdicts: One dict per (group, row): the group fields, ``id``, ``task``, ``value``, ``correct``,
            ``strict_correct``, ``reason``, ``failure`` (None when correct), ``details``, ``log``.
        summary: One dict per group and task, then the group's ``overall`` row (see `summary_rows`).
        missing: Rows without a prediction, over all groups.
        skip_missing: Whether those rows were left out (True) or counted as wrong (False).
        tasks: The tasks reported.
    """

    fields: tuple[str, ...]
    verdicts: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    missing: int
    skip_missing: bool
    tasks: tuple[str, ...]


def score_predictions(rows: Sequence[Mapping[str, Any]], predictions: PredictionFile, *, skip_missing: bool = False,
                      workers: int = 1, semantics: str = "parallelbench") -> Report:
    """Score every prediction of a file against a build's rows, per group, and summarise (see the module docstring).

    Args:
        rows: The rows of one split of a build.
        predictions: From `read_predictions`.
        skip_missing: Leave rows without a prediction out instead of counting them as wrong.
        workers: Scoring processes (worth it for the text tasks).
        semantics: Whose verdicts: ``parallelbench`` (ours) or ``release`` (the original release's scorer, for rows
            imported with `parallelbench.import_release`).

    Returns:
        The `Report`.

    Raises:
        UsageError: When a prediction's id is not a row of `rows` (naming its line), or the file is empty.
    """
    by_id = {row["id"]: row for row in rows}
    for prediction in predictions.predictions:
        if prediction.id not in by_id:
            raise UsageError(f"{predictions.path}:{prediction.line}: id {prediction.id!r} is not a row of this split")
    if not predictions.predictions:
        raise UsageError(f"{predictions.path}: no predictions")
    tasks = tuple(sorted({by_id[prediction.id]["task"] for prediction in predictions.predictions}))
    groups = list(dict.fromkeys(prediction.group for prediction in predictions.predictions))
    given = {(prediction.group, prediction.id): prediction for prediction in predictions.predictions}
    task_rows = [row for row in rows if row["task"] in tasks]
    pairs = [(group, row, given.get((group, row["id"]))) for group in groups for row in task_rows]
    missing = sum(prediction is None for _, _, prediction in pairs)
    if skip_missing:
        pairs = [pair for pair in pairs if pair[2] is not None]
    present = [(row, prediction) for _, row, prediction in pairs if prediction is not None]
    lenient_verdicts = score_many([row for row, _ in present], [p.text for _, p in present], workers=workers,
                                  semantics=semantics)
    passed = [pair for pair, verdict in zip(present, lenient_verdicts) if verdict.correct]
    strict = iter(score_many([row for row, _ in passed], [p.text for _, p in passed], strict=True, workers=workers,
                             semantics=semantics))
    lenient = iter(lenient_verdicts)
    verdicts = []
    for group, row, prediction in pairs:
        record: dict[str, Any] = dict(zip(predictions.fields, group))
        record.update(id=row["id"], task=row["task"])
        if prediction is None:
            record.update(value=0.0, correct=False, strict_correct=False, reason="no prediction", failure=MISSING,
                          details={}, log={})
        else:
            verdict = next(lenient)
            strict_correct = next(strict).correct if verdict.correct else False
            failure = None if verdict.correct else str(verdict.details.get("failure", "other"))
            record.update(value=verdict.value, correct=verdict.correct, strict_correct=strict_correct,
                          reason=verdict.reason, failure=failure, details=dict(verdict.details),
                          log=dict(prediction.log))
        verdicts.append(record)
    return Report(predictions.fields, verdicts, summary_rows(predictions.fields, verdicts), missing, skip_missing,
                  tasks)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summarise(members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """n, accuracy, strict accuracy, mean score, missing predictions, mean logged measurements, failure counts."""
    n = len(members)
    summary: dict[str, Any] = {
        "n": n,
        "accuracy": sum(v["correct"] for v in members) / n,
        "strict_accuracy": sum(v["strict_correct"] for v in members) / n,
        "mean_score": sum(v["value"] for v in members) / n,
        "missing": sum(v["failure"] == MISSING for v in members),
    }
    for name in LOGGED:
        values = [float(v["log"][name]) for v in members if isinstance(v["log"].get(name), (int, float))]
        summary[f"mean_logged_{name}"] = _mean(values)
    failures: dict[str, int] = {}
    for verdict in members:
        if verdict["failure"] is not None:
            failures[verdict["failure"]] = failures.get(verdict["failure"], 0) + 1
    summary["failures"] = failures
    return summary


def summary_rows(fields: Sequence[str], verdicts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Summarise verdicts per group and task, each group followed by its size-weighted ``overall`` row.

    Args:
        fields: The group fields.
        verdicts: As in `Report.verdicts`.

    Returns:
        Dicts of the group fields, ``task`` and the figures of `_summarise`, groups in first-seen order, tasks sorted.
    """
    by_group: dict[tuple[Any, ...], dict[str, list[Mapping[str, Any]]]] = {}
    for verdict in verdicts:
        group = tuple(verdict[name] for name in fields)
        by_group.setdefault(group, {}).setdefault(verdict["task"], []).append(verdict)
    summary = []
    for group, by_task in by_group.items():
        head = dict(zip(fields, group))
        for task in sorted(by_task):
            summary.append({**head, "task": task, **_summarise(by_task[task])})
        summary.append({**head, "task": OVERALL, **_summarise([v for members in by_task.values() for v in members])})
    return summary


def failure_columns(summary: Sequence[Mapping[str, Any]]) -> list[str]:
    """The failure classes to show: every known class, then any other class the summary counts, sorted."""
    seen = {name for entry in summary for name in entry["failures"]}
    return [*FAILURE_CLASSES, *sorted(seen - set(FAILURE_CLASSES))]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else value


def write_summary_csv(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write the summary as CSV: group fields, task, the figures, then one ``failures_<class>`` column per class."""
    classes = failure_columns(report.summary)
    figures = ["n", "accuracy", "strict_accuracy", "mean_score", "missing",
               *(f"mean_logged_{name}" for name in LOGGED)]
    target = Path(path)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*report.fields, "task", *figures, *(f"failures_{name}" for name in classes)])
        for entry in report.summary:
            writer.writerow([*(_csv_value(entry[name]) for name in report.fields), entry["task"],
                             *(_csv_value(entry[name]) for name in figures),
                             *(entry["failures"].get(name, 0) for name in classes)])
    return target


#: Group fields always named in a speed-quality line's label; other fields only where they differ between groups.
LABEL_FIELDS: tuple[str, ...] = ("model", "rule")


def curve_label(fields: Sequence[str], entry: Mapping[str, Any]) -> str:
    """Name a speed-quality line by the group fields that do not vary along it (model, rule, ...)."""
    shown = [f"{name}={entry[name]}" for name in fields
             if name not in CURVE_AXIS_FIELDS and entry[name] is not None]
    return ", ".join(shown) or "predictions"


def _label_fields(report: Report) -> list[str]:
    """The fields of the curves' labels: `LABEL_FIELDS`, and any other field whose value differs between groups."""
    return [name for name in report.fields if name in LABEL_FIELDS
            or len({entry[name] for entry in report.summary}) > 1]


def curve_records(report: Report) -> list[dict[str, Any]]:
    """Speed-quality records of the report: one per group and task that has a tokens-per-step position.

    The position is the mean logged (realised) tokens per step when the predictions log it, else the group's
    ``tokens_per_step`` field; groups with neither (e.g. "all tokens at once" without a log) are left out.
    """
    records = []
    label_fields = _label_fields(report)
    for entry in report.summary:
        if entry["task"] == OVERALL:
            continue
        position = entry["mean_logged_tokens_per_step"]
        if position is None and isinstance(entry.get("tokens_per_step"), (int, float)):
            position = float(entry["tokens_per_step"])
        if position is None or position <= 0:
            continue
        records.append({"task": entry["task"], "model": curve_label(label_fields, entry),
                        "tokens_per_step": position, "accuracy": entry["accuracy"], "unit": "token"})
    return records


def write_report(report: Report, rows: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike[str], *,
                 parallelism: tuple[float, float] = curves_report.PARALLELISM_RANGE) -> list[Path]:
    """Write ``summary.csv``, ``summary.json``, ``verdicts.jsonl`` and the speed-quality PNGs into `out_dir`.

    Args:
        report: From `score_predictions`.
        rows: The rows of the scored split; the calibration of those the report scored gives the oracle's curves.
        out_dir: The folder (created if missing).
        parallelism: The tokens-per-step range of the area under each curve.

    Returns:
        The files written. The PNGs (``speed_quality-<family>.png``) need the ``plots`` extra and are left out
        without it; ``summary.json`` holds every curve and its area either way.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_summary_csv(report, out / "summary.csv")]
    verdicts_path = out / "verdicts.jsonl"
    write_verdicts(report, verdicts_path)
    records = curve_records(report)
    tasks = {record["task"] for record in records}
    scored = {verdict["id"] for verdict in report.verdicts}  # the oracle on the very rows the report scores
    oracle = curves_report.oracle_records(row for row in rows if row["task"] in tasks and row["id"] in scored)
    curves = curves_report.speed_quality(records + oracle, parallelism) if records else []
    summary = {
        "group_fields": list(report.fields), "tasks": list(report.tasks), "missing": report.missing,
        "missing_predictions": "skipped" if report.skip_missing else "counted as wrong",
        "summary": report.summary,
        "curves": {"parallelism": list(parallelism), "axis": "log2 tokens per step", "curves": [
            {"task": c.task, "model": c.model, "points": [list(p) for p in c.points], "auc": c.auc,
             "extrapolated": c.extrapolated, "unit": c.unit} for c in curves]},
    }
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    written += [summary_path, verdicts_path]
    for family in sorted({curve.task.split("/", 1)[0] for curve in curves}):
        try:
            written.append(curves_report.plot_curves([c for c in curves if c.task.split("/", 1)[0] == family],
                                                     out / f"speed_quality-{family}.png"))
        except ImportError:
            break  # summary.json holds the curves; the PNGs need the plots extra
    return written


def write_verdicts(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write one JSON line per verdict: group fields, id, task, value, correct, strict_correct, reason, failure,
    details and log."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        for verdict in report.verdicts:
            handle.write(json.dumps(verdict, ensure_ascii=False, default=str) + "\n")
    return target


def group_label(fields: Sequence[str], entry: Mapping[str, Any]) -> str:
    """A short text for a group: ``model=tiny tokens_per_step=2`` (null fields left out; ``-`` for none)."""
    return " ".join(f"{name}={entry[name]}" for name in fields if entry[name] is not None) or "-"
