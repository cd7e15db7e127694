"""Failure classes in the details of list and grid verdicts: how a wrong answer failed (duplicates are the
signature of parallel decoding)."""

from __future__ import annotations

import json

import pytest

import parallelbench as pb

A, B, C, X = "A", "B", "C", "X"


def list_reference(operation, items=(A, B, C), position=None, item=None):
    return {"task": f"list_ops/{operation}", "reference": json.dumps(
        {"operation": operation, "vocabulary": "words", "input": list(items), "position": position, "item": item})}


@pytest.mark.parametrize("operation,position,item,answer,failure", [
    ("copy", None, None, "not a list at all", "format_error"),
    ("copy", None, None, "[1, 2, 3]", "format_error"),
    ("reverse", None, None, [A, B, C], "unchanged_input"),
    ("shuffle", None, None, [A, B, C], "unchanged_input"),
    ("copy", None, None, [A, A, C], "duplicated_unit"),
    ("shuffle", None, None, [C, C, A], "duplicated_unit"),
    ("reverse", None, None, [C, B, A, A], "duplicated_unit"),
    ("copy", None, None, [A, B, C, X], "extra_unit"),
    ("copy", None, None, [A, X, C], "extra_unit"),
    ("remove_index", 2, None, [C, A, B], "extra_unit"),
    ("remove_random", None, None, [C, A, B], "extra_unit"),
    ("copy", None, None, [A, B], "missing_unit"),
    ("insert_random", None, X, [A, B, C, C], "duplicated_unit"),
    ("insert_random", None, X, [A, X, C], "missing_unit"),
    ("replace_random", None, X, [B, A, C], "missing_unit"),
    ("replace_random", None, X, [A, X], "missing_unit"),
    ("remove_random", None, None, [A], "missing_unit"),
    ("copy", None, None, [B, A, C], "order_error"),
    ("sort", None, None, [C, B, A], "order_error"),
    ("remove_random", None, None, [C, A], "order_error"),
    ("replace_random", None, X, [X, C, B], "order_error"),
    ("insert_random", None, X, [B, X, A, C], "order_error"),
])
def test_a_wrong_list_answer_names_its_failure_class(operation, position, item, answer, failure):
    row = list_reference(operation, position=position, item=item)
    prediction = answer if isinstance(answer, str) else json.dumps(answer)
    verdict = pb.score(row, prediction)
    assert not verdict.correct
    assert verdict.details["failure"] == failure, verdict.reason


def test_a_correct_list_answer_has_no_failure_class():
    for task in ("waiting_line/copy", "waiting_line/shuffle", "list_ops/remove_random"):
        row = pb.generate(task, n=1)[0]
        verdict = pb.score(row, row["answer"])
        assert verdict.correct and "failure" not in verdict.details


def test_copy_of_the_input_is_not_unchanged_input_when_copy_is_the_task():
    row = list_reference("copy")
    assert pb.score(row, json.dumps([A, B, C])).correct


def grid_row(task):
    return pb.generate(task, n=1, seed=0)[0]


def swap_rows(answer, i, j):
    lines = answer.split("\n")
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def test_a_wrong_grid_names_the_first_broken_rule():
    latin = grid_row("puzzle/latin_square_n3")  # symbols 6, I, P; gold 6,P,I / P,I,6 / I,6,P
    lines = latin["answer"].split("\n")
    assert pb.score(latin, "no grid here").details["failure"] == "format_error"
    assert pb.score(latin, "\n".join([lines[0].replace("6", "Z"), *lines[1:]])).details["failure"] == "invalid_symbol"
    assert pb.score(latin, "\n".join([lines[0], lines[0], lines[2]])).details["failure"] == "column_repeat"
    row_broken = "\n".join([lines[0].replace("P", "6"), *lines[1:]])  # row 1 repeats 6 (and column 2 too)
    assert pb.score(latin, row_broken).details["failure"] == "row_repeat"

    sudoku = grid_row("puzzle/sudoku_n4_4")  # clues 4 at (1,1), 2 at (2,2), 1 at (4,2), 2 at (4,4)
    assert pb.score(sudoku, swap_rows(sudoku["answer"], 0, 1)).details["failure"] == "changed_clue"


def test_a_sudoku_whose_rows_and_columns_are_latin_but_boxes_are_not_breaks_the_box_rule():
    reference = {"task": "puzzle/sudoku_n4_4", "reference": json.dumps({"grid": ["1000", "0000", "0000", "0000"]})}
    cyclic = "1234\n2341\n3412\n4123"  # a Latin square; box 1 holds 1, 2, 2, 3
    verdict = pb.score(reference, cyclic)
    assert not verdict.correct and verdict.details["failure"] == "box_repeat", verdict.reason
