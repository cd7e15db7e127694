"""Difficulty calibration: the per-row difficulty column, tiers, per-task curves and a built folder in place."""

from __future__ import annotations

import json
from fractions import Fraction

import pyarrow.parquet as pq
import pytest

import parallelbench as pb
from parallelbench.folder import checksum_problems
from parallelbench.reference_decoding.calibrate import (
    SETTINGS, TIERS, TOKENS_PER_STEP, calibrate_folder, calibrate_rows, difficulty_of, difficulty_of_answers,
    task_curves, tier_of,
)
from parallelbench.reference_decoding.oracle import AnswerSet


def row_of(task: str, **params) -> dict:
    return pb.generate(task, 1, seed=3, **params)[0]


def test_a_shuffle_row_gets_exact_curves_for_both_settings():
    row = row_of("waiting_line/shuffle", length=4)
    difficulty = difficulty_of(row)
    assert difficulty["method"] == "exact" and difficulty["unit"] == "answer unit"
    assert difficulty["answers"] == 23 and difficulty["slots"] == 4
    assert set(difficulty["accuracy"]) == set(SETTINGS) == {"random/sample", "confidence/argmax"}
    random_curve = difficulty["accuracy"]["random/sample"]
    assert list(random_curve) == ["1", "2", "4", "all"]
    assert random_curve["1"] == 1.0
    assert random_curve["2"] == pytest.approx(float(Fraction(211, 529)), abs=1e-6)
    assert random_curve["4"] == random_curve["all"] == pytest.approx(float(Fraction(25704, 279841)), abs=1e-6)
    assert difficulty["accuracy"]["confidence/argmax"]["2"] == pytest.approx(7 / 18, abs=1e-6)
    assert difficulty["tier"] == "hard"


def test_every_column_is_the_oracle_accuracy_of_its_rule_and_value_mode():
    row = row_of("waiting_line/replace_random", length=5)
    difficulty = difficulty_of(row)
    for setting, (rule, values) in SETTINGS.items():
        for k in TOKENS_PER_STEP:
            label = "all" if k is None else str(k)
            expected = float(pb.oracle_accuracy(row, k, rule, values))
            assert difficulty["accuracy"][setting][label] == pytest.approx(expected, abs=1e-6)


def test_single_answer_rows_are_easy():
    difficulty = difficulty_of(row_of("waiting_line/sort"))
    assert difficulty["tier"] == "easy" and difficulty["tier_score"] == 1.0
    assert all(value == 1.0 for curve in difficulty["accuracy"].values() for value in curve.values())


def test_rows_without_enumerable_answers_say_so():
    for task in ("waiting_line_n15/shuffle", "words_to_sentence/easy"):
        difficulty = difficulty_of(row_of(task))
        assert difficulty["enumerable"] is False and difficulty["tier"] is None and difficulty["reason"]
        assert "accuracy" not in difficulty


def test_tiers_follow_the_documented_thresholds():
    def curves(value):
        return {"random/sample": {"1": 1.0, "2": value, "4": value, "all": value}}
    assert tier_of(curves(1.0)) == ("easy", 1.0)
    assert tier_of(curves(TIERS["easy"]))[0] == "easy"
    assert tier_of(curves(0.89))[0] == "medium"
    assert tier_of(curves(TIERS["medium"]))[0] == "medium"
    assert tier_of(curves(0.49))[0] == "hard"


def test_too_large_settings_fall_back_to_monte_carlo_with_an_interval():
    answers = AnswerSet.from_answers(pb.enumerate_answers(row_of("waiting_line/shuffle", length=5)))
    difficulty = difficulty_of_answers(answers, max_work=0, samples=300)
    assert difficulty["method"] == "mixed" and difficulty["samples"] == 300
    for setting, intervals in difficulty["interval_95"].items():
        for label, (low, high) in intervals.items():
            assert low <= difficulty["accuracy"][setting][label] <= high


def test_calibrate_rows_fills_the_column_and_shares_structures():
    rows = pb.generate("waiting_line/shuffle", 6, seed=1, length=4) + pb.generate("waiting_line/copy", 2, seed=1)
    calibrated = calibrate_rows(rows)
    assert [row["id"] for row in calibrated] == [row["id"] for row in rows]
    assert all(row["difficulty"] == "{}" for row in rows)  # the input is left alone
    texts = {row["difficulty"] for row in calibrated[:6]}
    assert len(texts) == 1  # every shuffle row of one length has the same answer structure
    assert json.loads(calibrated[-1]["difficulty"])["tier"] == "easy"
    assert calibrate_rows(rows, workers=2) == calibrated


def test_task_curves_average_the_calibrated_rows():
    rows = calibrate_rows(pb.generate("waiting_line/replace_random", 4, seed=2, length=(3, 4), rows_per_length=2))
    summary = task_curves(rows)
    values = [json.loads(row["difficulty"])["accuracy"]["random/sample"]["all"] for row in rows]
    assert summary["curves"]["random/sample"]["all"] == pytest.approx(sum(values) / 4, abs=1e-6)
    assert summary["rows"] == summary["calibrated_rows"] == 4 and summary["unit"] == "answer unit"
    assert sum(summary["tiers"].values()) == 4 and summary["methods"] == {"exact": 4}


def test_calibrate_folder_rewrites_the_build_in_place(tmp_path):
    folder = pb.build(tmp_path / "bench", tasks=["waiting_line/shuffle", "words_to_sentence/easy"])
    summaries = calibrate_folder(folder)
    assert set(summaries) == {"waiting_line-shuffle", "words_to_sentence-easy"}
    table = pq.read_table(folder / "data/waiting_line-shuffle/test-00000-of-00001.parquet").to_pylist()
    assert all(json.loads(row["difficulty"])["method"] == "exact" for row in table)
    written = json.loads((folder / "calibration/waiting_line-shuffle.json").read_text())
    assert written == summaries["waiting_line-shuffle"] and written["calibrated_rows"] == len(table)
    assert json.loads((folder / "calibration/words_to_sentence-easy.json").read_text())["calibrated_rows"] == 0
    assert checksum_problems(folder) == []


def test_calibrate_folder_refuses_other_folders(tmp_path):
    with pytest.raises(ValueError, match="not a ParallelBench build"):
        calibrate_folder(tmp_path)
