"""Waiting-line and list-operation tasks: one edit (copy, insert, remove, replace, reverse, shuffle, sort) of a list.

`waiting_line/<op>` lists people ("First Last") at a customer-service desk, as in the paper;
`waiting_line_n15/<op>` is the paper's long-line variant (15 people); `list_ops/<op>` runs the same operations on
plain lists of letters or common words, for the synthetic list-operation study.

Fixed on purpose against the original release: positions count from 1 and the prompt says so; sorting is by last
name, ties by first name, and the gold answers really are in that order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import rng as rnd
from ..rng import RowRandom
from ..registry import Instance, TaskSpec
from ..validators import waiting_line as validator
from .people import draw_distinct_names, draw_full_name
from .vocabulary import POOLS

OPERATIONS: tuple[str, ...] = (
    "copy", "insert_index", "insert_random", "remove_index", "remove_random",
    "replace_index", "replace_random", "reverse", "shuffle", "sort",
)
VOCABULARIES: tuple[str, ...] = ("names", *POOLS)
MAX_NAMES = 100
#: Bumped whenever the same seed gives other rows. 3: lengths cycle row by row (they came in blocks of 25 before).
GENERATOR_VERSION = "3"


@dataclass(frozen=True)
class ListTaskConfig:
    """Parameters of one list-operation task.

    Attributes:
        operation: One of `OPERATIONS`.
        vocabulary: ``names`` (people, the waiting line), ``letters`` (A-Z) or ``words`` (common nouns).
        length: The list lengths, as one length or an inclusive ``(min, max)`` range.
        rows_per_length: Consecutive rows that share a length; row ``i`` has the ``(i // rows_per_length)``-th
            length of the range, cycling. The default 1 makes row ``i`` take length ``min + i % (max - min + 1)``,
            so any first k rows cover k lengths (or all of them), and a row's length never depends on how many
            rows are made.
        n_shots: How many one-shot example turns (each on another list, from the task's example pool; see
            `parallelbench.rows`) come before the prompt.
    """

    operation: str
    vocabulary: str = "names"
    length: tuple[int, int] | int = (3, 6)
    rows_per_length: int = 1
    n_shots: int = 1

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}; got {self.operation!r}")
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(f"vocabulary must be one of {', '.join(VOCABULARIES)}; got {self.vocabulary!r}")
        length = self.length
        if isinstance(length, int) and not isinstance(length, bool):
            length = (length, length)
        if not (isinstance(length, (tuple, list)) and len(length) == 2 and all(isinstance(v, int) for v in length)):
            raise ValueError(f"length must be an int or a (min, max) pair of ints; got {self.length!r}")
        low, high = length
        most = MAX_NAMES if self.vocabulary == "names" else len(POOLS[self.vocabulary][0]) - 1
        if not 2 <= low <= high <= most:
            raise ValueError(f"length must satisfy 2 <= min <= max <= {most} for {self.vocabulary}; got {self.length!r}")
        object.__setattr__(self, "length", (low, high))
        if not isinstance(self.rows_per_length, int) or self.rows_per_length < 1:
            raise ValueError(f"rows_per_length must be a positive int; got {self.rows_per_length!r}")
        if not isinstance(self.n_shots, int) or not 0 <= self.n_shots <= 8:
            raise ValueError(f"n_shots must be an int from 0 to 8; got {self.n_shots!r}")

    def length_of_row(self, index: int) -> int:
        """Return the list length of row `index`."""
        low, high = self.length
        return low + (index // self.rows_per_length) % (high - low + 1)


def unit_of(vocabulary: str) -> str:
    """Return what one list item is called in prompts and reports ("name", "letter", "word")."""
    return "name" if vocabulary == "names" else POOLS[vocabulary][1]


def _draw_items(rng: RowRandom, vocabulary: str, count: int) -> list[str]:
    if vocabulary == "names":
        return draw_distinct_names(rng, count)
    return rnd.sample(rng, POOLS[vocabulary][0], count)


def _draw_new_item(rng: RowRandom, vocabulary: str, taken: list[str]) -> str:
    while True:
        item = draw_full_name(rng) if vocabulary == "names" else rnd.choice(rng, POOLS[vocabulary][0])
        if item not in taken:
            return item


def _gold(rng: RowRandom, operation: str, items: list[str], position: int | None, item: str | None,
          vocabulary: str) -> list[str]:
    """Apply `operation` to `items`; a random operation picks its own position with `rng`."""
    n = len(items)
    if operation in ("insert_random", "remove_random", "replace_random"):
        position = 1 + rnd.randbelow(rng, n + 1 if operation == "insert_random" else n)
        operation = operation.replace("random", "index")
    if operation == "copy":
        return list(items)
    if operation == "reverse":
        return items[::-1]
    if operation == "sort":
        return sorted(items, key=validator.sort_key(vocabulary))
    if operation == "shuffle":
        while True:
            candidate = rnd.shuffled(rng, items)
            if candidate != items:
                return candidate
    assert position is not None
    if operation == "insert_index":
        return items[: position - 1] + [item] + items[position - 1 :]
    if operation == "remove_index":
        return items[: position - 1] + items[position:]
    return items[: position - 1] + [item] + items[position:]  # replace_index


def count_answers(operation: str, length: int) -> int:
    """Return how many distinct lists answer `operation` on a list of `length` distinct items."""
    if operation == "shuffle":
        return math.factorial(length) - 1  # every permutation but the input
    if operation == "insert_random":
        return length + 1
    if operation in ("remove_random", "replace_random"):
        return length
    return 1


_INSTRUCTIONS = {
    "copy": "Write the {container} again, exactly as it is.",
    "insert_index": 'Insert "{item}" so that it is at position {position}; all other entries keep their order.',
    "insert_random": 'Insert "{item}" at any one position you choose; all other entries keep their order.',
    "remove_index": "Remove the entry at position {position}; all other entries keep their order.",
    "remove_random": "Remove any one entry you choose; all other entries keep their order.",
    "replace_index": 'Replace the entry at position {position} with "{item}"; all other entries stay where they are.',
    "replace_random": 'Replace any one entry you choose with "{item}"; all other entries stay where they are.',
    "reverse": "Reverse the order of the {container}.",
    "shuffle": "Shuffle the {container}: list the same entries in a different order (any order except the current one).",
    "sort": "Sort the {container} in alphabetical order.",
}
_SORT_BY_NAME = "Sort the line alphabetically by last name; where two people share a last name, order them by first name."


def json_list(items: list[str]) -> str:
    """Return ``json.dumps(items)`` for items that need no escaping, which every item pool here guarantees.

    This family writes three JSON lists per row; joining is several times faster than the general encoder.
    `people.py` and `vocabulary.py` check at load time that no item holds a quote, a backslash or non-ASCII text.
    """
    return '["' + '", "'.join(items) + '"]'


def render_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of a row from its stored reference (so the prompt never disagrees with the check)."""
    vocabulary, operation = reference["vocabulary"], reference["operation"]
    listed = json_list(reference["input"])
    if vocabulary == "names":
        container = "line"
        intro = f"A customer-service desk keeps a waiting line of people, from the front (position 1) to the back:\n{listed}"
        example = '["First Last", "First Last"]'
    else:
        container = "list"
        intro = f"Here is a list of {unit_of(vocabulary)}s, from position 1 to position {len(reference['input'])}:\n{listed}"
        example = '["A", "B"]' if vocabulary == "letters" else '["word", "word"]'
    if operation == "sort" and vocabulary == "names":
        instruction = _SORT_BY_NAME
    else:
        instruction = _INSTRUCTIONS[operation].format(
            container=container, item=reference.get("item"), position=reference.get("position"))
    return (
        f"{intro}\n\n{instruction}\n"
        f"Positions count from 1 (position 1 is the first entry). Answer with the resulting {container} as a JSON "
        f"array of strings, like {example}, and nothing else."
    )


def _make_case(config: ListTaskConfig, rng: RowRandom, length: int) -> tuple[dict[str, Any], list[str]]:
    """Draw one list and its edit; return (reference, one gold answer)."""
    operation, vocabulary = config.operation, config.vocabulary
    items = _draw_items(rng, vocabulary, length)
    position = item = None
    if operation.endswith("_index"):
        position = 1 + rnd.randbelow(rng, length + 1 if operation == "insert_index" else length)
    if operation.startswith(("insert", "replace")):
        item = _draw_new_item(rng, vocabulary, items)
    reference = {"operation": operation, "vocabulary": vocabulary, "input": items, "position": position, "item": item}
    return reference, _gold(rng, operation, items, position, item, vocabulary)


@lru_cache(maxsize=None)
def _output_format(length: int) -> str:
    return json.dumps(["[MASK]"] * length)


def generate(config: ListTaskConfig, rng: RowRandom, index: int) -> Instance:
    """Generate row `index` of a list-operation task (see `parallelbench.registry.Generator`)."""
    length = config.length_of_row(index)
    reference, gold = _make_case(config, rng, length)
    return Instance(
        prompt=render_prompt(reference),
        answer=json_list(gold),
        reference=reference,
        output_format=_output_format(len(gold)),
        n_answers=count_answers(config.operation, length),
        metadata={"length": length, "operation": config.operation, "unit": unit_of(config.vocabulary)},
    )


def _specs(family: str, **defaults: Any) -> tuple[TaskSpec, ...]:
    rows = defaults.pop("rows", 100)
    return tuple(
        TaskSpec(
            name=f"{family}/{operation}",
            config_class=ListTaskConfig,
            defaults={"operation": operation, **defaults},
            generate=generate,
            check=validator.check,
            prepare=validator.ListAnswerKey,
            enumerate_answers=validator.enumerate_answers,
            rows=rows,
            version=GENERATOR_VERSION,
        )
        for operation in OPERATIONS
    )


TASKS: tuple[TaskSpec, ...] = (
    *_specs("waiting_line"),
    *_specs("waiting_line_n15", length=15),
    *_specs("list_ops", vocabulary="letters", length=(3, 16), rows=140),
)
