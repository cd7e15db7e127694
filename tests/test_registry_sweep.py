"""One sweep over every registered task: the contracts each task must keep, whichever family it belongs to."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import parallelbench as pb
from parallelbench.schema import ROW_SCHEMA

GARBAGE = ["", " ", "\x00", "[" * 20_000, "x" * 1_000_000, "\ud800 lone surrogate", "12345", "[1, 2, 3]",
           "null", "{\"a\": 1}", "```\n```", "Answer:", "\u201c\u201d", "[\"\"]", "\n".join(["0 0 0 0"] * 4)]
ROWS_PER_TASK = 6


def _rows(task: str) -> list[dict]:
    return pb.generate(task, n=ROWS_PER_TASK, seed=11)


@pytest.mark.parametrize("task", pb.tasks())
def test_gold_answers_pass_in_both_modes(task):
    """Exact tasks score 1.0; graded text tasks score in (0, 1] and are still `correct`."""
    for row in _rows(task):
        for strict in (True, False):
            verdict = pb.score(row, row["answer"], strict=strict)
            assert verdict.correct and 0.0 < verdict.value <= 1.0, (row["id"], strict, verdict.reason)


@pytest.mark.parametrize("task", pb.tasks())
def test_another_rows_gold_fails_where_the_answers_differ(task):
    rows = _rows(task)
    for row, other in zip(rows, rows[1:] + rows[:1]):
        if other["answer"] != row["answer"] and row["n_answers"] == 1:
            assert not pb.score(row, other["answer"]).correct, (row["id"], other["id"])


@pytest.mark.parametrize("task", pb.tasks())
def test_garbage_never_raises_and_scores_zero(task):
    row = _rows(task)[0]
    for text in GARBAGE:
        for strict in (True, False):
            verdict = pb.score(row, text, strict=strict)
            assert verdict.value == 0.0 and not verdict.correct and verdict.reason


@pytest.mark.parametrize("task", pb.tasks())
def test_rows_have_the_shared_schema_and_round_trip(task):
    rows = _rows(task)
    table = pa.Table.from_pylist(rows, schema=ROW_SCHEMA)  # raises on a missing column or a wrong type
    assert table.to_pylist() == rows
    for row in rows:
        assert tuple(row) == pb.COLUMNS
        assert row["task"] == task and row["family"] == task.split("/")[0]
        for column in ("reference", "metadata", "difficulty"):
            assert isinstance(json.loads(row[column]), dict)
        assert json.loads(row["metadata"])["canary"] == pb.CANARY
        assert "[MASK]" in row["output_format"]
        assert row["messages"][-1] == {"role": "user", "content": row["prompt"]}
        assert row["n_answers"] is None or row["n_answers"] >= 1


@pytest.mark.parametrize("task", pb.tasks())
def test_same_seed_same_rows_other_seed_other_rows(task):
    assert pb.generate(task, n=3, seed=5) == pb.generate(task, n=3, seed=5)
    assert [r["prompt"] for r in pb.generate(task, n=3, seed=5)] != [r["prompt"] for r in pb.generate(task, n=3, seed=6)]


@pytest.mark.parametrize("task", pb.tasks())
def test_ids_are_unique_and_name_the_task(task):
    rows = pb.generate(task, n=30, seed=0)
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(row["id"].startswith(task + ":") for row in rows)


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no text")


class _HostileStr(str):
    def __getitem__(self, key):
        raise RuntimeError("no slicing")

    def strip(self, *args):
        raise RuntimeError("no stripping")


ODD_OBJECTS = [10**5000, None, b"\xff\xfe", _Unprintable(), _HostileStr("[]"), object(), float("inf"), [1], {"a": 1}]


@pytest.mark.parametrize("task", pb.tasks())
def test_any_python_object_scores_zero_without_raising(task):
    row = _rows(task)[0]
    for prediction in ODD_OBJECTS:
        for strict in (True, False):
            verdict = pb.score(row, prediction, strict=strict)
            assert not verdict.correct and verdict.reason
