"""Exact checks for the waiting-line and list-operation tasks, and their complete answer sets.

Each check parses the prediction into a list (strictly: exactly a JSON array of strings; leniently: see
`parsing.extract_list`, plus case and spacing of items forgiven), then decides against the row's reference alone.
Tasks with several correct answers (shuffle, random insert/remove/replace) accept every one of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ..errors import MalformedRowError
from ..schema import Score, failed, passed
from .parsing import extract_list, normalize_item


def sort_key(vocabulary: str) -> Callable[[str], Any]:
    """Return the sort key of a vocabulary: last name then first name for people, the text itself otherwise."""
    if vocabulary == "names":
        def by_last_name(name: str) -> tuple[str, str]:
            first, _, last = name.rpartition(" ")
            return last, first
        return by_last_name
    return str


_OPERATIONS = frozenset({"copy", "insert_index", "insert_random", "remove_index", "remove_random", "replace_index",
                         "replace_random", "reverse", "shuffle", "sort"})


def _malformed(field: str, must: str, reference: dict[str, Any]) -> MalformedRowError:
    return MalformedRowError(f"malformed list reference: {field!r} {must}; got {reference.get(field, '(missing)')!r}")


def validate_reference(reference: dict[str, Any]) -> None:
    """Check that a reference holds every field a list check reads, with the right type.

    Raises:
        MalformedRowError: (a `ValueError`) naming the first bad field.
    """
    operation, items = reference.get("operation"), reference.get("input")
    if operation not in _OPERATIONS:
        raise _malformed("operation", f"must be one of {', '.join(sorted(_OPERATIONS))}", reference)
    if reference.get("vocabulary") not in _UNITS:
        raise _malformed("vocabulary", f"must be one of {', '.join(_UNITS)}", reference)
    if not (type(items) is list and all(map(isinstance, items, itertools.repeat(str)))):
        raise _malformed("input", "must be a list of strings", reference)
    if operation.endswith("_index"):
        position, most = reference.get("position"), len(items) + (operation == "insert_index")
        if not (type(position) is int and 1 <= position <= most):
            raise _malformed("position", f"must be an int from 1 to {most} for {operation}", reference)
    if operation.startswith(("insert", "replace")) and not isinstance(reference.get("item"), str):
        raise _malformed("item", f"must be a string for {operation}", reference)


def _is_strings(items: list[Any]) -> bool:
    return all(map(isinstance, items, itertools.repeat(str)))


def _entries(reference: dict[str, Any]) -> list[str]:
    """The entries an answer may hold: the input's, and the new item of an insert or replace."""
    return reference["input"] if reference.get("item") is None else [*reference["input"], reference["item"]]


def _lenient_items(entries: list[str], items: list[str]) -> list[str]:
    """Map case and spacing variants of known entries onto the entries (lenient mode); other items stay as they are."""
    known = {normalize_item(entry): entry for entry in entries}
    return [known.get(normalize_item(item), item) for item in items]


_UNITS = {"names": "name", "letters": "letter", "words": "word"}


def _counts(entries: list[str]) -> dict[str, int]:
    """How often each entry occurs. Entries are most often distinct (every input is): one C call counts those."""
    counts = dict.fromkeys(entries, 1)
    if len(counts) < len(entries):
        counts = {}
        for entry in entries:
            counts[entry] = counts.get(entry, 0) + 1
    return counts


def _multiset_problem(expected: list[str], got: list[str], unit: str) -> str:
    """Describe how `got` differs from `expected` as a multiset (missing, unexpected or repeated entries).

    Each loop below runs only when a cheaper whole-set test says it can find something.
    """
    have, want = _counts(got), _counts(expected)
    if not want.keys() >= have.keys():
        for entry in got:
            if entry not in want:
                return f"unexpected {unit}: {entry}"
    if len(have) < len(got):  # some entry written twice
        for entry in got:
            if have[entry] > want[entry]:
                return f"{unit} repeated: {entry}"
    if not have.keys() >= want.keys() or len(want) < len(expected):
        for entry in expected:
            if have.get(entry, 0) < want[entry]:
                return f"{unit} missing: {entry}"
    return ""


def _order_problem(expected: list[str], got: list[str]) -> str:
    for position, (want, have) in enumerate(zip(expected, got), start=1):
        if want != have:
            return f"wrong entry at position {position}: expected {want}, got {have}"
    return ""


def expected_list(reference: dict[str, Any]) -> list[str] | None:
    """Return the only correct answer of a single-answer operation, or None for operations with several answers."""
    items, operation = list(reference["input"]), reference["operation"]
    position, item = reference.get("position"), reference.get("item")
    if operation == "copy":
        return items
    if operation == "reverse":
        return list(reversed(items))
    if operation == "sort":
        return sorted(items, key=sort_key(reference["vocabulary"]))
    if operation == "insert_index":
        items.insert(position - 1, item)
        return items
    if operation == "remove_index":
        del items[position - 1]
        return items
    if operation == "replace_index":
        items[position - 1] = item
        return items
    return None


def _check_items(reference: dict[str, Any], expected: list[str] | None, got: list[str]) -> str:
    """Return "" when `got` answers the row (whose `expected_list` is `expected`), else the reason it does not."""
    items, operation, item = reference["input"], reference["operation"], reference.get("item")
    unit = _UNITS[reference["vocabulary"]]
    if expected is not None:
        if got == expected:
            return ""
        problem = _multiset_problem(expected, got, unit)
        if problem:
            return problem
        if operation == "sort":
            return "not sorted by last name, then first name" if reference["vocabulary"] == "names" else "not sorted"
        return _order_problem(expected, got)
    n = len(items)
    if operation == "shuffle":
        if got == items:
            return "identical to the input"
        return "" if sorted(got) == sorted(items) else _multiset_problem(items, got, unit)
    if operation == "insert_random":
        if item not in got:
            return f"{unit} missing: {item}"
        rest = list(got)
        rest.remove(item)
        return "" if rest == items else _multiset_problem(items, rest, unit) or _order_problem(items, rest)
    if operation == "remove_random":
        if len(got) != n - 1:
            return _multiset_problem(items, got, unit) or f"expected {n - 1} entries, got {len(got)}"
        if any(got == items[:i] + items[i + 1 :] for i in range(n)):
            return ""
        return _multiset_problem(items, got, unit) or "other entries out of order"
    # replace_random: exactly one position changed, and it now holds the new item
    if len(got) != n:
        return f"expected {n} entries, got {len(got)}"
    changed = [i for i in range(n) if got[i] != items[i]]
    if len(changed) == 1 and got[changed[0]] == item:
        return ""
    if item not in got:
        return f"{unit} missing: {item}"
    return _multiset_problem(items + [item], got, unit) or "more than one entry changed or moved"


#: The failure classes of a list answer, as `failure_class` names them (in the order it tests them).
FAILURE_CLASSES: tuple[str, ...] = (
    "format_error", "unchanged_input", "duplicated_unit", "extra_unit", "missing_unit", "order_error")


def _answer_shape(reference: dict[str, Any]) -> tuple[dict[str, int], int, dict[str, int]]:
    """What every correct answer has: (the most copies of each entry, the length, the entries it must hold)."""
    items, operation, item = reference["input"], reference["operation"], reference.get("item")
    expected = expected_list(reference)
    if expected is None and operation == "remove_random":
        return _counts(items), len(items) - 1, {}  # any one entry may go
    if expected is None and operation == "replace_random":
        return _counts([*items, item]), len(items), {item: 1}  # the new item replaces any one entry
    if expected is None:  # shuffle, insert_random: every entry of the input (and the new item), once each
        expected = items if operation == "shuffle" else [*items, item]
    counts = _counts(expected)
    return counts, len(expected), counts


def failure_class(reference: dict[str, Any], got: list[str],
                  shape: tuple[dict[str, int], int, dict[str, int]] | None = None) -> str:
    """Name how a wrong list answer fails, the first that applies of (after ``format_error``, which `check` gives
    to an answer that is not a list of strings):

    ``unchanged_input`` (the input given back where it is not the answer), ``duplicated_unit`` (an entry written
    more often than any correct answer holds it: the signature of parallel decoding), ``extra_unit`` (an entry no
    correct answer holds, or too many entries), ``missing_unit`` (an entry left out, or too few entries),
    ``order_error`` (the right entries in a wrong order).

    Args:
        reference: The row's reference.
        got: The parsed answer, known to be wrong.
        shape: The reference's `_answer_shape`, when the caller has it.
    """
    if got == reference["input"] and expected_list(reference) != got:
        return "unchanged_input"
    most, length, required = shape or _answer_shape(reference)
    have = _counts(got)
    repeats = len(have) < len(got)  # without repeats no entry can exceed its most copies (at least 1) or the floor 1
    if repeats and any(count > max(most.get(entry, 0), 1) for entry, count in have.items()):
        return "duplicated_unit"
    if len(got) > length or not most.keys() >= have.keys() or (
            repeats and any(count > most[entry] for entry, count in have.items())):
        return "extra_unit"
    if len(got) < length or any(have.get(entry, 0) < count for entry, count in required.items()):
        return "missing_unit"
    return "order_error"


#: A `ListAnswerKey` field not worked out yet.
_NOT_YET = object()


class ListAnswerKey:
    """One list row's reference, validated, with what every check of it reads worked out once.

    Calling it checks a prediction (see `check`). `score_many` makes one per distinct row and grades every
    prediction of that row with it (see `parallelbench.registry.TaskSpec.grader`); `check` makes one per call.

    Raises:
        MalformedRowError: (a `ValueError`) when the reference lacks a field or holds one of the wrong type.
    """

    __slots__ = ("reference", "entries", "_expected", "_shape")

    def __init__(self, reference: dict[str, Any]) -> None:
        validate_reference(reference)
        self.reference = reference
        self.entries = _entries(reference)
        self._expected: list[str] | None | object = _NOT_YET  # made at the first answer that parses
        self._shape: tuple[dict[str, int], int, dict[str, int]] | None = None  # made at the first wrong answer

    def expected(self) -> list[str] | None:
        """The row's only correct answer (`expected_list`), or None for an operation with several."""
        if self._expected is _NOT_YET:
            self._expected = expected_list(self.reference)
        return self._expected  # type: ignore[return-value]

    def _failure_class(self, got: list[str]) -> str:
        if self._shape is None:
            self._shape = _answer_shape(self.reference)
        return failure_class(self.reference, got, self._shape)

    def __call__(self, prediction: object, strict: bool = False) -> Score:
        reference, entries = self.reference, self.entries
        mode = "strict" if strict else "lenient"
        items, problem = extract_list(prediction, strict, known=entries, wanted=_is_strings)
        if items is None:
            return failed(problem, mode=mode, failure="format_error")
        if not _is_strings(items):
            number = next(number for number, item in enumerate(items, start=1) if not isinstance(item, str))
            return failed(f"entry {number} is not a string", mode=mode, failure="format_error")
        got, expected = items, self.expected()
        problem = _check_items(reference, expected, got)
        if problem and not strict and not set(entries).issuperset(items):  # an item that is not exactly an entry
            got = _lenient_items(entries, items)
            problem = _check_items(reference, expected, got)
        if problem:
            return failed(problem, mode=mode, length=len(got), failure=self._failure_class(got))
        return passed(mode=mode, length=len(got))


def check(reference: dict[str, Any], prediction: str, strict: bool = False) -> Score:
    """Decide whether `prediction` answers a list-operation row (see `parallelbench.registry.Checker`).

    Lenient mode grades the last list of strings in the text, and reads an unquoted list whose entries are exactly
    the row's names, letters or words (see `parsing.extract_list`). A wrong answer's ``details["failure"]`` names its
    class (see `failure_class`).

    Raises:
        MalformedRowError: (a `ValueError`) when the reference lacks a field or holds one of the wrong type.
    """
    return ListAnswerKey(reference)(prediction, strict)


def enumerate_answers(reference: dict[str, Any], limit: int = 100_000) -> list[tuple[str, ...]] | None:
    """Return every correct answer as a tuple of entries (the answer units), or None when there are more than `limit`."""
    validate_reference(reference)
    items, operation, item = reference["input"], reference["operation"], reference.get("item")
    expected = expected_list(reference)
    if expected is not None:
        answers = [tuple(expected)]
    elif operation == "shuffle":
        answers = list(itertools.islice((p for p in itertools.permutations(items) if list(p) != items), limit + 1))
    elif operation == "insert_random":
        answers = [tuple(items[:i] + [item] + items[i:]) for i in range(len(items) + 1)]
    elif operation == "remove_random":
        answers = [tuple(items[:i] + items[i + 1 :]) for i in range(len(items))]
    else:  # replace_random
        answers = [tuple(items[:i] + [item] + items[i + 1 :]) for i in range(len(items))]
    return answers if len(answers) <= limit else None
