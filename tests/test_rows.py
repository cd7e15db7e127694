"""Row assembly: the gold self-check, and one-shot examples from each task's example pool."""

from __future__ import annotations

import dataclasses
import json

import pytest

import parallelbench as pb
from parallelbench import rng as rnd
from parallelbench import rows as row_assembly
from parallelbench.registry import get_task
from parallelbench.schema import failed

TASKS_WITH_EXAMPLES = ["waiting_line/insert_random", "list_ops/sort", "puzzle/latin_square_n3", "puzzle/sudoku_n4_10"]


def _maker(task: str, seed: int = 0, **params) -> row_assembly.RowMaker:
    spec = get_task(task)
    return row_assembly.RowMaker(spec, spec.make_config(**params), seed)


@pytest.mark.parametrize("task", TASKS_WITH_EXAMPLES)
def test_example_turns_are_the_pool_examples_named_in_the_metadata(task):
    maker = _maker(task, seed=3)
    for row in pb.generate(task, n=20, seed=3):
        numbers = json.loads(row["metadata"])["examples"]
        assert len(numbers) == 1 and 0 <= numbers[0] < row_assembly.EXAMPLE_POOL
        prompt, answer = maker.example(numbers[0])
        assert row["messages"][:2] == [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        assert prompt != row["prompt"]


@pytest.mark.parametrize("task", TASKS_WITH_EXAMPLES)
def test_example_gold_answers_pass_their_validator(task):
    maker = _maker(task, seed=1)
    spec = get_task(task)
    for number in range(0, row_assembly.EXAMPLE_POOL, 97):
        prompt, answer = maker.example(number)
        instance = spec.generate(spec.make_config(), rnd.example_rng(spec.name, 1, number), number)
        assert instance.prompt == prompt
        assert spec.check(instance.reference, answer, True).correct


def test_an_example_is_the_same_whatever_was_made_before():
    task = "waiting_line/shuffle"
    late = pb.generate(task, n=1, seed=4, start=500)[0]
    row_assembly._example_pool.cache_clear()
    assert pb.generate(task, n=1, seed=4, start=500)[0] == late
    number = json.loads(late["metadata"])["examples"][0]
    row_assembly._example_pool.cache_clear()
    assert _maker(task, seed=4).example(number) == (late["messages"][0]["content"], late["messages"][1]["content"])


def test_examples_differ_between_seeds_and_parameters():
    first = _maker("list_ops/copy", seed=0).example(5)
    assert _maker("list_ops/copy", seed=1).example(5) != first
    assert _maker("list_ops/copy", seed=0, vocabulary="words").example(5) != first


def test_several_shots_are_distinct_examples():
    for row in pb.generate("list_ops/copy", n=30, seed=0, length=3, n_shots=4):
        numbers = json.loads(row["metadata"])["examples"]
        assert len(numbers) == len(set(numbers)) == 4
        assert len(row["messages"]) == 9


def test_no_shots_no_examples():
    row = pb.generate("waiting_line/copy", n=1, n_shots=0)[0]
    assert json.loads(row["metadata"])["examples"] == [] and len(row["messages"]) == 1


def test_a_pool_too_small_for_the_shots_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(row_assembly, "EXAMPLE_POOL", 2)
    with pytest.raises(pb.GenerationError, match="cannot find 3 one-shot examples"):
        pb.generate("list_ops/copy", n=1, seed=9, n_shots=3)


def test_a_gold_answer_that_fails_its_validator_stops_generation():
    spec = dataclasses.replace(get_task("waiting_line/copy"), check=lambda reference, prediction, strict: failed("no"))
    maker = row_assembly.RowMaker(spec, spec.make_config(), 0)
    with pytest.raises(pb.GenerationError, match=r"waiting_line/copy seed=0 index=7: gold answer fails .*\(no\)"):
        maker.row(7)


def test_every_example_made_is_checked():
    spec = get_task("waiting_line/reverse")
    checked = []

    def counting_check(reference, prediction, strict):
        checked.append(prediction)
        return spec.check(reference, prediction, strict)

    counting = dataclasses.replace(spec, name="test/counting-reverse", check=counting_check)
    maker = row_assembly.RowMaker(counting, spec.make_config(), 0)
    rows = [maker.row(index) for index in range(10)]
    examples = {number for row in rows for number in json.loads(row["metadata"])["examples"]}
    assert len(checked) == len(rows) + len(examples)
