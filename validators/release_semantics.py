"""The original release's verdicts on its own rows: ``pb.score(row, prediction, semantics="release")``.

The original ParallelBench release (furiosa-ai/ParallelBench) grades each task with a metric named in its
``task_config.yaml``. This module reproduces those metrics' verdicts, rule for rule, on rows imported with
`parallelbench.release` (their reference carries ``release = {"metric": ..., "answer": ...}``: the metric's name and
the release's own gold object). It is written from the release's documented behaviour, not copied from it:

- Lists (``list_match_score`` and the shuffle / random insert / remove / replace scores): the release's list
  parser. Lenient: keep the text after the last ``[`` and before the next ``]``, split on commas, strip spaces and
  double quotes from each item, drop empty items. Strict: both brackets required, items separated by exactly
  ``", "`` and each wrapped in double quotes with no quote inside. A sort is compared with the release's gold order
  (the whole name, so by first name), whatever the prompt says.
- ``latin_square_score``: the first n lines whose comma-separated cells are exactly the n symbols, checked for rows
  and columns; strict mode is the same check (the release has no strict variant).
- ``sudoku_score``: the grid parsed (lenient: spaces and commas dropped, every line with exactly 4 digits kept;
  strict: exactly 4 lines of 4 digits) and compared with the gold grid, not checked for validity.
- ``sentence_to_words_score``: every required word as a case-sensitive substring of the prediction, and no
  LanguageTool match of any kind (the release's grammar check).
- ``summary_score``: ROUGE-L (rouge-score, Porter stemmer) against the reference summary, times the grammar check.
- ``paraphrase_score``: (1 - BLEU) x BERTScore (roberta-large) x grammar: BERTScore needs model weights from the
  network, so this metric is never computed here; the verdict says so.

A metric that cannot run here (LanguageTool, rouge-score or BERTScore missing) gives a zero verdict whose reason says
what is missing and whose details carry ``computable: False``; it is never replaced by a weaker check. Every verdict's
details name ``semantics: "release"`` and the metric; binary metrics also give the release's ``score`` and
``score_strict`` (its lenient and strict values), continuous ones the release's parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..schema import Score

#: Metrics whose value is a continuous score, not a pass/fail verdict; the release reports their mean.
CONTINUOUS_METRICS = frozenset({"summary_score", "paraphrase_score"})


class ReleaseMetricUnavailable(RuntimeError):
    """A part of a release metric cannot run here; the message says what is missing.

    Attributes:
        parts: The parts of the metric that were computed before the missing one (e.g. the word inclusion).
    """

    def __init__(self, message: str, parts: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.parts = parts or {}


# --- lists ---------------------------------------------------------------------------------------------------------

def parse_release_list(text: str, strict: bool) -> list[str] | None:
    """Parse a list the way the release's scorer does (see the module docstring); None when strict parsing fails.

    Args:
        text: The prediction (or the release's gold string).
        strict: The release's strict mode.

    Returns:
        The items, or None.
    """
    if "[" in text:
        text = text.rsplit("[", 1)[1]
    elif strict:
        return None
    if "]" in text:
        text = text.split("]", 1)[0]
    elif strict:
        return None
    if not strict:
        return [piece.strip('" ') for piece in text.strip("[]").split(",") if piece.strip()]
    items = []
    for piece in text.split(", "):
        if not (piece.startswith('"') and piece.endswith('"')):
            return None
        inner = piece[1:-1]
        if '"' in inner:
            return None
        items.append(inner)
    return items


def _list_match(prediction: str, answer: Any, strict: bool) -> bool:
    got = parse_release_list(prediction, strict)
    return got is not None and got == parse_release_list(answer, False)


def _list_shuffle(prediction: str, answer: Any, strict: bool) -> bool:
    got, items = parse_release_list(prediction, strict), list(answer["input"])
    return got is not None and sorted(got) == sorted(items) and got != items


def _removed_one(shorter: list[str] | None, longer: list[str]) -> bool:
    """The release's random-remove rule: one fewer item, exactly one distinct value gone, the rest in order."""
    if shorter is None or len(shorter) != len(longer) - 1:
        return False
    gone = set(longer) - set(shorter)
    if len(gone) != 1:
        return False
    rest = list(longer)
    rest.remove(next(iter(gone)))
    return shorter == rest


def _list_random_insert(prediction: str, answer: Any, strict: bool) -> bool:
    got, word = parse_release_list(prediction, strict), answer.get("word")
    if got is None:
        return False
    if word is None:
        return _removed_one(list(answer["input"]), got)
    rest = list(got)
    for new in [word] if isinstance(word, str) else word:
        if new not in rest:
            return False
        rest.remove(new)
    return rest == list(answer["input"])


def _list_random_remove(prediction: str, answer: Any, strict: bool) -> bool:
    return _removed_one(parse_release_list(prediction, strict), list(answer["input"]))


def _list_random_replace(prediction: str, answer: Any, strict: bool) -> bool:
    got, items, word = parse_release_list(prediction, strict), list(answer["input"]), answer.get("word")
    if got is None or len(got) != len(items):
        return False
    if word is None:
        return sum(a != b for a, b in zip(got, items)) == 1
    if word not in got:
        return False
    items[got.index(word)] = word
    return got == items


# --- puzzles -------------------------------------------------------------------------------------------------------

def _latin_square(prediction: str, answer: Any, strict: bool) -> bool:
    symbols = set(answer["symbols"])
    size = len(symbols)
    lines = [line.strip() for line in prediction.split("\n") if line.strip()]
    lines = [line for line in lines if {cell.strip() for cell in line.split(",")} == symbols]
    if len(lines) < size:
        return False
    rows = [[cell.strip() for cell in line.split(",")] for line in lines[:size]]
    columns = list(zip(*rows))
    return all(set(row) == symbols for row in rows) and all(set(column) == symbols for column in columns)


_DIGIT = re.compile(r"\d")


def parse_release_sudoku(text: str, strict: bool) -> list[list[int]] | None:
    """Parse a 4x4 grid the way the release's scorer does; None when it finds no grid."""
    text = text.strip()
    if not strict:
        text = text.replace(" ", "").replace(",", "")
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if strict:
        if len(lines) != 4 or any(len(line) != 4 for line in lines):
            return None
        try:
            return [[int(char) for char in line] for line in lines]
        except ValueError:
            return None
    grid = [row for row in ([int(digit) for digit in _DIGIT.findall(line)] for line in lines) if len(row) == 4]
    return grid if len(grid) == 4 else None


def _sudoku(prediction: str, answer: Any, strict: bool) -> bool:
    return parse_release_sudoku(prediction, strict) == parse_release_sudoku(answer, True)


#: Binary metrics: name -> rule(prediction, release answer, strict) -> accepted.
BINARY_METRICS: dict[str, Callable[[str, Any, bool], bool]] = {
    "list_match_score": _list_match,
    "list_shuffle_score": _list_shuffle,
    "list_random_insert_score": _list_random_insert,
    "list_random_remove_score": _list_random_remove,
    "list_random_replace_score": _list_random_replace,
    "latin_square_score": _latin_square,
    "sudoku_score": _sudoku,
}


# --- text ----------------------------------------------------------------------------------------------------------

def release_grammar_ok(text: str) -> bool:
    """The release's grammar check: LanguageTool (en-US) finds no match of any kind in the stripped text.

    The ``languagetool`` backend's report keeps the grammar matches and counts the others (spelling, style, ...) as
    ignored; the release counts them all.

    Raises:
        ReleaseMetricUnavailable: When LanguageTool cannot run here (no server URL, no local install), or the text
            is longer than the backend checks.
    """
    from ..scoring.grammar import MAX_CHECK_CHARS, GrammarBackendUnavailable, check_grammar

    text = text.strip()
    if not text:
        return False
    if len(text) > MAX_CHECK_CHARS:
        raise ReleaseMetricUnavailable(f"the release checks the whole text; the grammar check here reads the first "
                                       f"{MAX_CHECK_CHARS} characters and this text is longer")
    try:
        report = check_grammar(text, backend="languagetool")
    except GrammarBackendUnavailable as error:
        raise ReleaseMetricUnavailable(f"the release's grammar check is LanguageTool: {error}") from None
    matches = sum(error.rule.startswith("languagetool:") for error in report.errors) + report.ignored
    return matches == 0


def _rouge_l(prediction: str, summary: str) -> float:
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise ReleaseMetricUnavailable("the release's summary score needs rouge-score: "
                                       "pip install 'parallelbench[release]'") from None
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(summary, prediction)["rougeL"].fmeasure


def _sentence_to_words(prediction: str, answer: Any) -> tuple[float, dict[str, Any]]:
    included = all(word in prediction for word in answer["words"])
    try:
        grammar = release_grammar_ok(prediction)
    except ReleaseMetricUnavailable as error:
        raise ReleaseMetricUnavailable(str(error), {"inclusion_score": float(included)}) from None
    return float(included and grammar), {"inclusion_score": float(included), "grammar_score": float(grammar)}


def _summary(prediction: str, answer: Any) -> tuple[float, dict[str, Any]]:
    prediction = prediction.strip()
    rouge = _rouge_l(prediction, answer["summary"].strip())
    grammar = float(release_grammar_ok(prediction)) if prediction else 0.0
    return rouge * grammar, {"rougeL_score": rouge, "grammar_score": grammar}


def _paraphrase(prediction: str, answer: Any) -> tuple[float, dict[str, Any]]:
    raise ReleaseMetricUnavailable("the release's paraphrase score multiplies by BERTScore with roberta-large, "
                                   "whose weights come from the network; scoring never downloads, so it is not "
                                   "computed here")


#: Text metrics: name -> rule(prediction, release answer) -> (value, the release's parts).
TEXT_METRICS: dict[str, Callable[[str, Any], tuple[float, dict[str, Any]]]] = {
    "sentence_to_words_score": _sentence_to_words,
    "summary_score": _summary,
    "paraphrase_score": _paraphrase,
}

METRICS: frozenset[str] = frozenset(BINARY_METRICS) | frozenset(TEXT_METRICS)


def release_part(reference: Mapping[str, Any]) -> dict[str, Any]:
    """Return the reference's ``release`` member (metric and gold), raising `ValueError` for rows without one."""
    release = reference.get("release")
    if not isinstance(release, dict) or release.get("metric") not in METRICS or "answer" not in release:
        raise ValueError("semantics='release' needs a row imported from the original release "
                         "(parallelbench import-release); this row's reference has no release metric and gold")
    return release


def check(reference: Mapping[str, Any], prediction: str, strict: bool = False) -> Score:
    """Return the original release's verdict on `prediction` for an imported row.

    Args:
        reference: The row's reference (with its ``release`` member).
        prediction: The model's output.
        strict: The release's strict variant (for the binary metrics that have one).

    Returns:
        A `Score`: value 1.0/0.0 for binary metrics, the release's continuous score for summaries and paraphrases
        (``correct`` is then False and ``details["continuous"]`` True: the release reports their mean), and a zero
        verdict with ``details["computable"] = False`` when the metric cannot run here.

    Raises:
        ValueError: When the row was not imported from the release.
    """
    release = release_part(reference)
    metric, answer = release["metric"], release["answer"]
    details: dict[str, Any] = {"semantics": "release", "metric": metric, "mode": "strict" if strict else "lenient"}
    if not isinstance(prediction, str):
        return Score(0.0, False, f"prediction is not text ({type(prediction).__name__})", details)
    if metric in BINARY_METRICS:
        rule = BINARY_METRICS[metric]
        lenient_ok, strict_ok = rule(prediction, answer, False), rule(prediction, answer, True)
        details.update(score=float(lenient_ok), score_strict=float(strict_ok))
        accepted = strict_ok if strict else lenient_ok
        return Score(float(accepted), accepted, "ok" if accepted else f"rejected by the release's {metric}", details)
    try:
        value, parts = TEXT_METRICS[metric](prediction, answer)
    except ReleaseMetricUnavailable as error:
        return Score(0.0, False, f"release metric not computable here: {error}",
                     {**details, **error.parts, "computable": False})
    details.update(parts, score=value, computable=True)
    if metric in CONTINUOUS_METRICS:
        return Score(value, False, f"release {metric} {value:.3f} (continuous: the release reports the mean)",
                     {**details, "continuous": True})
    accepted = value == 1.0
    return Score(value, accepted, "ok" if accepted else f"rejected by the release's {metric}", details)
