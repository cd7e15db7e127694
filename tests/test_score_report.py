"""Reports from prediction files: groups, missing rows, duplicates, overall rows, failure classes, the report files."""

from __future__ import annotations

import csv
import json

import pytest

import parallelbench as pb
from parallelbench.cli import main
from parallelbench.folder import read_rows
from parallelbench.report import read_predictions, score_predictions

TASKS = ["waiting_line/copy", "puzzle/latin_square_n3"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return pb.build(tmp_path_factory.mktemp("b") / "parallelbench", tasks=TASKS)


@pytest.fixture(scope="module")
def rows(folder):
    return read_rows(folder)


def duplicated_first(answer):
    items = json.loads(answer)
    items[1] = items[0]
    return json.dumps(items)


def write_lines(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def sweep_file(path, rows):
    """Three groups: gold at 1 token/step; at 2, every third copy row duplicated and every tenth row missing;
    an echo of the input under another rule (wrong everywhere for the lists: copy's answer *is* its input, so
    echoing passes copy; the grids get garbage)."""
    records = []
    for number, row in enumerate(rows):
        records.append({"id": row["id"], "prediction": row["answer"], "model": "m", "tokens_per_step": 1,
                        "rule": "random", "log": {"nfe": 3, "tokens_per_step": 1.0}})
        if number % 10:
            prediction = row["answer"]
            if row["task"] == "waiting_line/copy" and number % 3 == 0:
                prediction = duplicated_first(row["answer"])
            records.append({"id": row["id"], "prediction": prediction, "model": "m", "tokens_per_step": 2,
                            "rule": "random", "log": {"nfe": 2, "tokens_per_step": 1.5}})
        records.append({"id": row["id"], "prediction": "1,2,3" if row["task"].startswith("puzzle") else
                        json.dumps(json.loads(row["reference"])["input"]), "model": "m", "tokens_per_step": 2,
                        "rule": "confidence", "temperature": 0})
    return write_lines(path, records)


def expected_counts(rows):
    """Per task: rows, rows left out of group 2 (every tenth), duplicated copy rows among the kept ones."""
    counts = {}
    for number, row in enumerate(rows):
        entry = counts.setdefault(row["task"], {"n": 0, "missing": 0, "duplicated": 0})
        entry["n"] += 1
        if number % 10 == 0:
            entry["missing"] += 1
        elif row["task"] == "waiting_line/copy" and number % 3 == 0:
            entry["duplicated"] += 1
    return counts


def read_csv(path):
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_groups_missing_rows_overall_rows_and_failure_classes_in_summary_csv(folder, rows, tmp_path, capsys):
    predictions = sweep_file(tmp_path / "p.jsonl", rows)
    report = tmp_path / "report"
    assert main(["score", str(folder), "--predictions", str(predictions), "--out", str(tmp_path / "v.jsonl"),
                 "--report", str(report)]) == 0
    out = capsys.readouterr().out
    counts = expected_counts(rows)
    total_missing = sum(entry["missing"] for entry in counts.values())
    assert f"{total_missing} rows of the predicted tasks had no prediction in their group: counted as wrong" in out
    table = {(r["tokens_per_step"], r["rule"], r["task"]): r for r in read_csv(report / "summary.csv")}
    assert set(table) == {(k, rule, task) for k, rule in (("1", "random"), ("2", "random"), ("2", "confidence"))
                          for task in [*sorted(TASKS), "overall"]}
    for task, entry in counts.items():
        gold = table["1", "random", task]
        assert (int(gold["n"]), float(gold["accuracy"]), float(gold["strict_accuracy"])) == (entry["n"], 1.0, 1.0)
        perturbed = table["2", "random", task]
        wrong = entry["missing"] + entry["duplicated"]
        assert int(perturbed["n"]) == entry["n"] and int(perturbed["missing"]) == entry["missing"]
        assert float(perturbed["accuracy"]) == pytest.approx(1 - wrong / entry["n"], abs=1e-6)
        assert int(perturbed["failures_missing_prediction"]) == entry["missing"]
        assert int(perturbed["failures_duplicated_unit"]) == entry["duplicated"]
        assert float(perturbed["mean_logged_tokens_per_step"]) == 1.5
    echo_copy, echo_grid = table["2", "confidence", "waiting_line/copy"], table["2", "confidence",
                                                                                 "puzzle/latin_square_n3"]
    assert float(echo_copy["accuracy"]) == 1.0  # the input list is copy's answer
    assert float(echo_grid["accuracy"]) == 0.0 and int(echo_grid["failures_format_error"]) == int(echo_grid["n"])
    n_all = sum(entry["n"] for entry in counts.values())
    overall = table["2", "random", "overall"]
    wrong_all = sum(entry["missing"] + entry["duplicated"] for entry in counts.values())
    assert int(overall["n"]) == n_all and float(overall["accuracy"]) == pytest.approx(1 - wrong_all / n_all, abs=1e-6)
    assert {row["temperature"] for row in read_csv(report / "summary.csv")} == {"", "0"}  # another field: a key

    verdicts = [json.loads(line) for line in (report / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 3 * n_all
    duplicated = [v for v in verdicts if v["failure"] == "duplicated_unit"]
    assert duplicated and all(v["tokens_per_step"] == 2 and v["rule"] == "random" and v["details"]["mode"] == "lenient"
                              and "repeated" in v["reason"] for v in duplicated)
    summary = json.loads((report / "summary.json").read_text())
    assert summary["missing_predictions"] == "counted as wrong"
    assert summary["curves"]["parallelism"] == [1.0, 8.0]
    models = {(c["task"], c["model"]) for c in summary["curves"]["curves"]}
    assert ("waiting_line/copy", "model=m, rule=random") in models
    assert ("waiting_line/copy", "oracle/random/sample") in models
    pytest.importorskip("matplotlib")
    for family in ("puzzle", "waiting_line"):
        assert (report / f"speed_quality-{family}.png").read_bytes()[:4] == b"\x89PNG"


def test_skip_missing_leaves_rows_out_and_says_so(folder, rows, tmp_path, capsys):
    predictions = write_lines(tmp_path / "p.jsonl", [{"id": row["id"], "prediction": row["answer"]}
                                                     for row in rows[1:]])
    assert main(["score", str(folder), "--predictions", str(predictions), "--out", str(tmp_path / "v.jsonl")]) == 0
    out = capsys.readouterr().out
    task = rows[0]["task"]
    n = sum(row["task"] == task for row in rows)
    assert f"-\t{task}\t{n}\t{1 - 1 / n:.4f}" in out and "1 rows of the predicted tasks" in out
    assert main(["score", str(folder), "--predictions", str(predictions), "--out", str(tmp_path / "v.jsonl"),
                 "--skip-missing"]) == 0
    out = capsys.readouterr().out
    assert f"-\t{task}\t{n - 1}\t1.0000" in out and "left out (--skip-missing)" in out


def test_duplicate_id_and_group_is_an_error_naming_both_lines(folder, rows, tmp_path, capsys):
    row = rows[0]
    predictions = write_lines(tmp_path / "p.jsonl", [
        {"id": row["id"], "prediction": "a", "tokens_per_step": 1},
        {"id": row["id"], "prediction": "b", "tokens_per_step": 2},
        {"id": row["id"], "prediction": "c", "tokens_per_step": 1},
    ])
    assert main(["score", str(folder), "--predictions", str(predictions)]) == 2
    err = capsys.readouterr().err
    assert "p.jsonl:3: duplicate prediction" in err and "line 1" in err and err.count("\n") == 1


@pytest.mark.parametrize("line,message", [
    ({"id": "x"}, "'prediction'"),
    ({"id": "x", "prediction": 3}, "string 'prediction'"),
    ({"prediction": "x"}, "'id'"),
    ({"id": "ID", "prediction": "x", "model": ["a"]}, "group field 'model'"),
    ({"id": "ID", "prediction": "x", "log": 3}, "'log'"),
    ({"id": "ID", "prediction": "x", "accuracy": 1}, "may not be called 'accuracy'"),
    ({"id": "no-such-row", "prediction": "x"}, "not a row of this split"),
])
def test_bad_lines_are_named(folder, rows, tmp_path, capsys, line, message):
    line = {key: rows[0]["id"] if value == "ID" else value for key, value in line.items()}
    predictions = write_lines(tmp_path / "p.jsonl", [{"id": rows[1]["id"], "prediction": "ok"}, line])
    assert main(["score", str(folder), "--predictions", str(predictions)]) == 2
    err = capsys.readouterr().err
    assert "p.jsonl:2" in err and message in err


def test_strict_accuracy_counts_only_the_exact_format(rows, tmp_path):
    copy_rows = [row for row in rows if row["task"] == "waiting_line/copy"][:4]
    loose = [f"Answer: {row['answer']}" for row in copy_rows]
    path = write_lines(tmp_path / "p.jsonl", [{"id": row["id"], "prediction": text}
                                              for row, text in zip(copy_rows, loose)])
    report = score_predictions(copy_rows, read_predictions(path))
    overall = report.summary[-1]
    assert overall["task"] == "overall" and overall["accuracy"] == 1.0 and overall["strict_accuracy"] == 0.0
