"""The waiting-line and list-operation tasks: prompts, gold answers, every alternative, near misses."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parallelbench as pb
from parallelbench.generators.vocabulary import POOLS, is_plain
from parallelbench.generators.waiting_line import OPERATIONS, ListTaskConfig, json_list

WAITING_LINE = [f"waiting_line/{operation}" for operation in OPERATIONS]


def _reference(row: dict) -> dict:
    return json.loads(row["reference"])


def _answer(row: dict) -> list[str]:
    return json.loads(row["answer"])


def test_paper_task_names_are_registered():
    names = set(pb.tasks())
    for operation in OPERATIONS:
        assert f"waiting_line/{operation}" in names
        assert f"waiting_line_n15/{operation}" in names
        assert f"list_ops/{operation}" in names


@pytest.mark.parametrize("task", WAITING_LINE)
def test_default_split_has_paper_shape(task):
    rows = pb.generate(task, seed=0)
    assert len(rows) == 100
    lengths = [json.loads(row["metadata"])["length"] for row in rows]
    assert [lengths.count(n) for n in (3, 4, 5, 6)] == [25, 25, 25, 25]
    for row in rows:
        people = _reference(row)["input"]
        assert len(set(people)) == len(people)
        assert all(len(name.split()) == 2 for name in people)
        assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user"]
        assert row["messages"][-1]["content"] == row["prompt"]
        assert row["messages"][0]["content"] != row["prompt"]


@pytest.mark.parametrize("task", WAITING_LINE)
def test_prompt_names_one_based_positions_and_json_format(task):
    row = pb.generate(task, n=1, seed=3)[0]
    assert "Positions count from 1" in row["prompt"]
    assert "JSON array of strings" in row["prompt"]
    reference = _reference(row)
    if reference["position"] is not None:
        assert f"position {reference['position']}" in row["prompt"]


def test_index_operations_use_one_based_positions():
    for row in pb.generate("waiting_line/insert_index", n=40, seed=1):
        reference, answer = _reference(row), _answer(row)
        assert answer[reference["position"] - 1] == reference["item"]
    for row in pb.generate("waiting_line/remove_index", n=40, seed=1):
        reference, answer = _reference(row), _answer(row)
        removed = reference["input"][reference["position"] - 1]
        assert removed not in answer and len(answer) == len(reference["input"]) - 1
    for row in pb.generate("waiting_line/replace_index", n=40, seed=1):
        reference, answer = _reference(row), _answer(row)
        assert answer[reference["position"] - 1] == reference["item"]


def test_sort_is_by_last_name_then_first_name():
    row = {"task": "waiting_line/sort", "reference": json.dumps({
        "operation": "sort", "vocabulary": "names", "input": ["Zoe Adams", "Amy Young", "Bob Adams"],
        "position": None, "item": None})}
    assert pb.score(row, '["Bob Adams", "Zoe Adams", "Amy Young"]', strict=True).correct
    first_name_order = pb.score(row, '["Amy Young", "Bob Adams", "Zoe Adams"]', strict=True)
    assert not first_name_order.correct
    assert "last name" in first_name_order.reason
    for generated in pb.generate("waiting_line/sort", n=50, seed=2):
        answer = _answer(generated)
        keys = [(name.split()[1], name.split()[0]) for name in answer]
        assert keys == sorted(keys)


def test_new_person_is_never_already_in_line():
    for operation in ("insert_index", "insert_random", "replace_index", "replace_random"):
        for row in pb.generate(f"waiting_line/{operation}", n=100, seed=5):
            reference = _reference(row)
            assert reference["item"] not in reference["input"]


@pytest.mark.parametrize("task", [*WAITING_LINE, "list_ops/shuffle", "list_ops/insert_random"])
def test_every_enumerated_answer_passes_and_count_matches(task):
    short = {"length": (3, 7)} if task.startswith("list_ops") else {}  # 7! - 1 answers at most
    for row in pb.generate(task, n=12, seed=4, **short):
        answers = pb.enumerate_answers(row)
        assert len(answers) == row["n_answers"] == len(set(answers))
        for answer in answers:
            assert pb.score(row, json.dumps(list(answer)), strict=True).correct


def test_answer_counts_match_the_closed_forms():
    for row in pb.generate("waiting_line/shuffle", n=100, seed=0):
        assert row["n_answers"] == math.factorial(len(_reference(row)["input"])) - 1
    for operation, extra in (("insert_random", 1), ("remove_random", 0), ("replace_random", 0)):
        for row in pb.generate(f"waiting_line/{operation}", n=20, seed=0):
            assert row["n_answers"] == len(_reference(row)["input"]) + extra
    assert pb.generate("waiting_line_n15/shuffle", n=1)[0]["n_answers"] == math.factorial(15) - 1


def test_enumerate_answers_gives_up_past_limit():
    row = pb.generate("waiting_line_n15/shuffle", n=1)[0]
    assert pb.enumerate_answers(row, limit=1000) is None


def _near_misses(row: dict) -> list[list[str]]:
    """Answers one small slip away from a correct one, none of which is correct for a single-answer task."""
    answer = _answer(row)
    misses = [answer[:-1], answer + [answer[0]], answer[1:] + [answer[0]] if len(answer) > 1 else []]
    if len(answer) >= 2:
        swapped = list(answer)
        swapped[0], swapped[1] = swapped[1], swapped[0]
        misses.append(swapped)
    misses.append([name.upper() + "X" for name in answer])
    return misses


@pytest.mark.parametrize("task", ["waiting_line/copy", "waiting_line/reverse", "waiting_line/sort",
                                  "waiting_line/insert_index", "waiting_line/remove_index", "waiting_line/replace_index"])
def test_near_misses_fail_on_single_answer_tasks(task):
    for row in pb.generate(task, n=30, seed=6):
        gold = _answer(row)
        for miss in _near_misses(row):
            if miss != gold:
                assert not pb.score(row, json.dumps(miss)).correct, (row["id"], miss)


def test_shuffle_rejects_input_dropped_and_repeated_names():
    for row in pb.generate("waiting_line/shuffle", n=30, seed=8):
        people = _reference(row)["input"]
        unchanged = pb.score(row, json.dumps(people))
        assert not unchanged.correct and unchanged.reason == "identical to the input"
        dropped = pb.score(row, json.dumps(people[1:][::-1]))
        assert not dropped.correct and dropped.reason.startswith("name missing")
        repeated = pb.score(row, json.dumps([people[1], people[1], *people[2:], people[0]][: len(people)]))
        assert not repeated.correct


def test_random_edits_accept_every_position_and_nothing_else():
    row = pb.generate("waiting_line/insert_random", n=1, seed=9)[0]
    reference = _reference(row)
    people, new = reference["input"], reference["item"]
    for i in range(len(people) + 1):
        assert pb.score(row, json.dumps(people[:i] + [new] + people[i:])).correct
    assert not pb.score(row, json.dumps(people)).correct
    assert not pb.score(row, json.dumps([new] + people[::-1])).correct
    assert not pb.score(row, json.dumps([new, new] + people)).correct

    row = pb.generate("waiting_line/remove_random", n=1, seed=9)[0]
    people = _reference(row)["input"]
    for i in range(len(people)):
        assert pb.score(row, json.dumps(people[:i] + people[i + 1 :])).correct
    assert not pb.score(row, json.dumps(people)).correct
    assert not pb.score(row, json.dumps(people[2:])).correct

    row = pb.generate("waiting_line/replace_random", n=1, seed=9)[0]
    reference = _reference(row)
    people, new = reference["input"], reference["item"]
    for i in range(len(people)):
        assert pb.score(row, json.dumps(people[:i] + [new] + people[i + 1 :])).correct
    assert not pb.score(row, json.dumps([new] + people[1:][::-1])).correct or len(people) <= 2
    assert not pb.score(row, json.dumps([new, new] + people[2:])).correct


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.randoms(use_true_random=False))
def test_shuffle_accepts_every_other_permutation(index, random):
    row = pb.generate("waiting_line/shuffle", n=1, seed=1, start=index)[0]
    people = _reference(row)["input"]
    permutation = list(people)
    random.shuffle(permutation)
    verdict = pb.score(row, json.dumps(permutation))
    assert verdict.correct == (permutation != people)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(OPERATIONS), st.integers(min_value=0, max_value=10_000))
def test_lenient_mode_forgives_what_a_grader_would(operation, index):
    row = pb.generate(f"waiting_line/{operation}", n=1, seed=2, start=index)[0]
    answer = _answer(row)
    smart = "[" + ", ".join(f"\u201c{name}\u201d" for name in answer) + "]"
    variants = [
        f"```json\n{row['answer']}\n```",
        f"Answer: {row['answer']}",
        f"Sure! Here is the updated line:\n{row['answer']}\nLet me know if you need more.",
        smart,
        row["answer"] + ".",
        json.dumps([name.lower() for name in answer]),
        str(answer),  # a Python list with single quotes
    ]
    for variant in variants:
        assert pb.score(row, variant).correct, variant
        assert not pb.score(row, variant, strict=True).correct, variant
    assert pb.score(row, row["answer"], strict=True).correct


def test_strict_mode_demands_strings():
    row = pb.generate("waiting_line/copy", n=1)[0]
    verdict = pb.score(row, json.dumps([1, 2, 3]), strict=True)
    assert not verdict.correct and verdict.reason == "entry 1 is not a string"


@pytest.mark.parametrize("field,value", [
    ("operation", "explode"), ("vocabulary", "emoji"), ("length", (5, 3)), ("length", (1, 4)),
    ("length", "long"), ("rows_per_length", 0), ("n_shots", -1),
])
def test_bad_config_fields_raise_value_error_naming_the_field(field, value):
    params = {"operation": "copy", field: value}
    with pytest.raises(ValueError, match=field):
        ListTaskConfig(**params)


def test_letters_cannot_be_longer_than_the_alphabet_allows():
    with pytest.raises(ValueError, match="length"):
        pb.generate("list_ops/insert_random", n=1, length=26)


def test_list_ops_cover_letters_and_words_up_to_sixteen():
    for vocabulary in ("letters", "words"):
        rows = pb.generate("list_ops/reverse", n=5, seed=0, vocabulary=vocabulary, length=16)
        for row in rows:
            items = _reference(row)["input"]
            assert len(items) == 16 and len(set(items)) == 16
            assert _answer(row) == items[::-1]


@pytest.mark.parametrize("task", [task for task in pb.tasks() if task.startswith(("waiting_line", "list_ops"))])
def test_the_first_rows_cover_as_many_lengths_as_they_can(task):
    low, high = pb.get_task(task).make_config().length
    for n in (1, 4, 10):
        lengths = [json.loads(row["metadata"])["length"] for row in pb.generate(task, n=n, seed=0)]
        assert len(set(lengths)) == min(n, high - low + 1)
        assert lengths == [low + i % (high - low + 1) for i in range(n)]


def test_a_wide_length_range_is_covered_by_the_default_split():
    rows = pb.generate("waiting_line/copy", n=100, length=(3, 16))
    lengths = [json.loads(row["metadata"])["length"] for row in rows]
    assert set(lengths) == set(range(3, 17))
    assert json.loads(rows[0]["metadata"])["params"]["length"] == [3, 16]


def test_length_of_a_row_does_not_depend_on_how_many_rows_are_made():
    alone = pb.generate("waiting_line/copy", n=1, seed=4, start=60)[0]
    within = pb.generate("waiting_line/copy", n=100, seed=4)[60]
    assert alone == within


def test_parameters_are_recorded_in_metadata():
    row = pb.generate("waiting_line/copy", n=1, length=(4, 4), n_shots=0)[0]
    metadata = json.loads(row["metadata"])
    assert metadata["params"]["length"] == [4, 4] and metadata["params"]["n_shots"] == 0
    assert len(row["messages"]) == 1
    assert metadata["canary"] == pb.CANARY


def test_shots_are_separate_lines():
    for row in pb.generate("list_ops/copy", n=50, seed=0, length=3, n_shots=3):
        example_inputs = [m["content"] for m in row["messages"][:-1] if m["role"] == "user"]
        assert len(example_inputs) == 3
        assert row["prompt"] not in example_inputs


def test_item_pools_need_no_json_escaping():
    for pool, _ in POOLS.values():
        assert all(map(is_plain, pool))
    for row in pb.generate("waiting_line/insert_random", n=200, seed=1):
        people = _reference(row)["input"]
        assert json_list(people) == json.dumps(people)


# What a grader expects of lenient parsing: the last list, unquoted known entries, nothing that raises.


def _row_with_edit(operation: str) -> tuple[dict, list[str], list[str]]:
    row = pb.generate(f"waiting_line/{operation}", n=1, seed=3, length=4)[0]
    return row, _reference(row)["input"], _answer(row)


def test_echoed_input_then_answer_grades_the_answer():
    row, people, answer = _row_with_edit("reverse")
    assert pb.score(row, f"The line is {json.dumps(people)}. The new line is {json.dumps(answer)}.").correct
    assert not pb.score(row, f"The new line is {json.dumps(answer)}. The line was {json.dumps(people)}.").correct
    copy_row, copy_people, _ = _row_with_edit("copy")
    wrong = list(reversed(copy_people))
    assert not pb.score(copy_row, f"The line is {json.dumps(copy_people)}. The new line is {json.dumps(wrong)}.").correct


def test_echoed_input_of_a_shuffle_is_not_its_answer():
    row, people, _ = _row_with_edit("shuffle")
    shuffled = people[1:] + people[:1]
    assert pb.score(row, f"Input: {json.dumps(people)}\nShuffled: {json.dumps(shuffled)}").correct
    verdict = pb.score(row, f"Shuffled: {json.dumps(shuffled)}\nInput: {json.dumps(people)}")
    assert not verdict.correct and verdict.reason == "identical to the input"


def test_unquoted_names_pass_only_when_each_is_a_known_entry():
    row, people, answer = _row_with_edit("reverse")
    assert pb.score(row, "[" + ", ".join(answer) + "]").correct
    assert pb.score(row, "The new line is [" + ", ".join(answer) + "].").correct
    misspelt = [answer[0] + "x", *answer[1:]]
    assert not pb.score(row, "[" + ", ".join(misspelt) + "]").correct
    assert not pb.score(row, "[" + ", ".join(answer) + "]", strict=True).correct


def test_a_trailing_citation_does_not_hide_the_answer():
    row, _, answer = _row_with_edit("sort")
    assert pb.score(row, f"Sorted: {json.dumps(answer)} (see [1]).").correct


def test_prose_fences_and_a_corrected_answer():
    row, people, answer = _row_with_edit("reverse")
    assert pb.score(row, f"```json\n{json.dumps(people)}\n```\nOops, reversed:\n```json\n{json.dumps(answer)}\n```").correct
    assert pb.score(row, f"Let me think.\n\n**Final answer:** {json.dumps(answer)}\n\nHope this helps!").correct
    assert not pb.score(row, f"Let me think.\n\n{json.dumps(answer)}\n\nWait, no: {json.dumps(people)}").correct


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no text")


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("prediction", [10**5000, None, b"\xff\xfe[", _Unprintable(), 3.5, ["a"], {"a": 1}, object(),
                                        "x" * 2_000_000, "[" * 200_000, "[\"a\"," * 100_000, float("nan")],
                         ids=lambda prediction: type(prediction).__name__)
def test_any_object_scores_zero_without_raising(prediction, strict):
    row = pb.generate("waiting_line/copy", n=1)[0]
    verdict = pb.score(row, prediction, strict=strict)
    assert not verdict.correct and verdict.reason


def test_a_correct_answer_far_into_a_huge_text_is_found_leniently_only():
    row, _, answer = _row_with_edit("reverse")
    text = "noise " * 50_000 + json.dumps(answer)
    assert pb.score(row, text).correct
    assert not pb.score(row, text, strict=True).correct
    assert not pb.score(row, json.dumps(answer) + " " * 150_000 + "junk", strict=True).correct


@pytest.mark.parametrize("field, value", [
    ("input", None), ("input", "Ann Lee"), ("input", [1, 2]), ("operation", "explode"), ("operation", None),
    ("vocabulary", "emoji"), ("position", None), ("position", 0), ("position", 99), ("position", "2"), ("item", None),
])
def test_malformed_reference_raises_value_error_naming_the_field(field, value):
    row = pb.generate("waiting_line/replace_index", n=1)[0]
    reference = {**_reference(row), field: value}
    with pytest.raises(ValueError, match=repr(field)):
        pb.score({**row, "reference": json.dumps(reference)}, row["answer"])


def test_reference_without_input_raises_value_error():
    row = pb.generate("waiting_line/copy", n=1)[0]
    reference = _reference(row)
    del reference["input"]
    with pytest.raises(ValueError, match="'input'"):
        pb.score({**row, "reference": json.dumps(reference)}, row["answer"])
