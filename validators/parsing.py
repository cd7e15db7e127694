"""Turning a free-text prediction into the answer it holds, strictly or leniently.

Shared by every validator. Lenient mode forgives what a human grader would forgive (code fences, an "Answer:"
prefix, smart quotes, prose and echoed inputs around the answer) and grades the last answer in the text; strict
mode takes the text exactly as the prompt asked for it. Every rule is listed in docs/parsing.md. Nothing here
raises on any prediction, whatever object it is: failures come back as a reason.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Collection
from typing import Any

import orjson

#: Past this many characters a prediction is not an answer to any of our tasks; it is cut before parsing.
MAX_PREDICTION_CHARS = 100_000
#: How many opening brackets that start no list lenient parsing tries before it stops looking.
MAX_FAILED_STARTS = 64
#: The longest bracketed text read as a Python-style or unquoted list.
MAX_LITERAL_CHARS = 10_000

_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u2018": "'", "\u2019": "'", "\u2032": "'"})
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n?(.*?)```", re.DOTALL)
_ANSWER_PREFIX = re.compile(r"^\**\s*(?:final\s+)?answer\s*\**\s*[:\-]\s*\**\s*", re.IGNORECASE)


def as_text(prediction: object) -> str:
    """Return `prediction` as a string that is safe to process (no lone surrogates), whatever object it is.

    Bytes are decoded as UTF-8 (bad bytes replaced); None is the empty string; any other object is its `str()`, or
    the empty string when even that fails (an int past Python's digit limit, an object whose ``__str__`` raises).
    The text is not cut: strict mode rejects long text and lenient mode keeps its tail (see `extract_list`).
    """
    if isinstance(prediction, bytes):
        text = prediction.decode("utf-8", errors="replace")
    elif isinstance(prediction, str):
        text = str.__str__(prediction)  # a plain str, even for a subclass that overrides its methods
    elif prediction is None:
        text = ""
    else:
        try:
            text = str(prediction)
            if not isinstance(text, str):  # a __str__ returning a str subclass
                text = str.__str__(text)
        except Exception:  # noqa: BLE001 - any object may be given; it is then no answer, never an error
            text = ""
    if not text.isascii():  # only non-ASCII text can hold a lone surrogate
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def lenient_text(prediction: object) -> str:
    """Return the text lenient parsing reads: `as_text`, then only its last `MAX_PREDICTION_CHARS` characters.

    The tail is kept because lenient mode grades the last answer in the text.
    """
    text = as_text(prediction)
    return text[-MAX_PREDICTION_CHARS:] if len(text) > MAX_PREDICTION_CHARS else text


def unwrap(text: str) -> str:
    """Remove what a grader would ignore around an answer: smart quotes, code fences (the last fenced block is kept),
    an "Answer:" prefix."""
    text = text.translate(_SMART_QUOTES)
    fenced = _FENCE.findall(text)
    if fenced:
        text = fenced[-1]  # the last fenced block, as the last answer is the one graded
    return _ANSWER_PREFIX.sub("", text.strip(), count=1).strip()


def normalize_item(item: str) -> str:
    """Return the form of a list item used for lenient matching: NFKC, single spaces, no outer punctuation, casefolded."""
    item = unicodedata.normalize("NFKC", item)
    return " ".join(item.split()).strip(" .,;:!?").casefold()


_DECODER = json.JSONDecoder()
#: The whitespace JSON allows around a value (``str.strip()`` alone would also drop other Unicode spaces).
_JSON_WHITESPACE = " \t\n\r"


def json_document(text: str) -> Any:
    """Return the one JSON value that `text` holds, exactly as `json.loads` would, about three times faster.

    On a short text `json.loads` spends most of its time in the regular expressions that skip the whitespace
    around the value; this strips that whitespace instead and decodes the rest.

    Raises:
        TypeError: When `text` is not a string.
        ValueError: When `text` is not exactly one JSON value (`json.JSONDecodeError` is a `ValueError`).
        RecursionError: For nesting deeper than Python's recursion limit, as `json.loads`.
    """
    if not isinstance(text, str):
        raise TypeError(f"JSON text must be a string, not {type(text).__name__}")
    body = text.strip(_JSON_WHITESPACE)
    value, end = _DECODER.raw_decode(body)
    if end != len(body):
        raise json.JSONDecodeError("Extra data", body, end)
    return value


def _json_strings(text: str) -> list[str] | None:
    """Return the list of strings that `text` is as one JSON document, or None when it is anything else.

    Read with orjson, about twice as fast as `json_document` on an answer-sized list. Where orjson reads a list of
    strings, `json.loads` reads the same list (both decode strings exactly as JSON defines them; orjson refuses
    the few texts where they differ, such as lone surrogates and numbers past 64 bits, so those and every other
    value go on to `json_document`).
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if type(value) is list and all(map(isinstance, value, itertools.repeat(str))):  # orjson makes no str subclass
        return value
    return None


def _list_at(text: str, start: int, known: Collection[str]) -> tuple[list[Any], int] | None:
    """Return the list that starts at `text[start]` ("[") and the index just past it, or None.

    Tried in order: a JSON array; a Python list with single quotes; an unquoted list whose comma-separated entries
    are each exactly one of `known`.
    """
    try:
        value, end = _DECODER.raw_decode(text, start)
        return (value, end) if isinstance(value, list) else None
    except RecursionError:
        return None
    except ValueError:
        pass
    close = text.find("]", start)
    if not 0 < close - start <= MAX_LITERAL_CHARS:
        return None
    inside = text[start + 1 : close]
    if "'" in inside:
        try:
            value = ast.literal_eval(text[start : close + 1])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = None
        if isinstance(value, list):
            return value, close + 1
    if known and "[" not in inside:
        entries = [entry.strip() for entry in inside.split(",")]
        if all(entry in known for entry in entries):
            return entries, close + 1
    return None


def _lists_in(text: str, known: Collection[str]) -> list[list[Any]]:
    """Return every outermost list in `text`, in order (a list inside another is part of it, not a list of its own).

    At most `MAX_FAILED_STARTS` opening brackets that start no list are tried, so brackets of noise cost little.
    """
    found: list[list[Any]] = []
    failures = 0
    start = text.find("[")
    while start >= 0 and failures < MAX_FAILED_STARTS:
        parsed = _list_at(text, start, known)
        if parsed is None:
            failures += 1
            start = text.find("[", start + 1)
        else:
            found.append(parsed[0])
            start = text.find("[", parsed[1])
    return found


def extract_list(prediction: object, strict: bool, *, known: Collection[str] = (),
                 wanted: Callable[[list[Any]], bool] | None = None) -> tuple[list[Any] | None, str]:
    """Find the list a prediction holds (the rules, one per line, are in docs/parsing.md).

    Args:
        prediction: The model's output (any object; non-strings are treated as text, see `as_text`).
        strict: When True the whole text (outer whitespace aside) must be one JSON array, and nothing else.
        known: The entries an answer may hold; lenient mode then also reads an unquoted list (``[Ann Lee, Bo
            Chen]``) whose entries are each exactly one of them.
        wanted: What an answer list looks like (e.g. "every entry is a string"); lenient mode grades the last list
            that is `wanted`, or the last list of all when none is. None: every list is wanted.

    Returns:
        ``(items, "")`` on success, else ``(None, reason)``.
    """
    if (type(prediction) is str and len(prediction) <= MAX_PREDICTION_CHARS
            and prediction.lstrip(_JSON_WHITESPACE)[:1] == "["):
        value = _json_strings(prediction)  # most answers: exactly a JSON array of strings, whichever the mode
        if value is not None:
            return value, ""
    text = as_text(prediction) if strict else lenient_text(prediction)
    if not text.strip():
        return None, "empty prediction"
    if strict and len(text) > MAX_PREDICTION_CHARS:
        return None, f"longer than {MAX_PREDICTION_CHARS:,} characters"
    value = None
    if text.lstrip(_JSON_WHITESPACE).startswith("["):  # the only case strict mode accepts
        try:  # the whole text is a JSON array of anything
            value = json_document(text)
        except (ValueError, RecursionError):
            pass
    if isinstance(value, list):
        return (_without_lone_surrogates(value) if "\\" in text else value), ""
    if strict:
        return None, "not a JSON array"
    text = unwrap(text)
    if "[" not in text:
        return None, "no list found"
    lists = _lists_in(text, known)
    if "\\" in text:
        lists = [_without_lone_surrogates(found) for found in lists]
    if not lists:
        return None, "no parsable list found"
    if wanted is not None:
        for candidate in reversed(lists):
            if wanted(candidate):
                return candidate, ""
    return lists[-1], ""


def _without_lone_surrogates(value: Any, depth: int = 2) -> Any:
    """`value` with each lone surrogate in its strings replaced by "?", as `as_text` mends the text itself.

    Only an escape (``"\\ud800"`` in JSON or a Python literal) can put one into a decoded string, so callers mend only
    what they decoded from a text with a backslash; a verdict quoting a lone surrogate could not be written as UTF-8.
    Strings are mended down to `depth` lists deep: the entries of a list answer and the cells of a grid, the only
    strings a verdict quotes.
    """
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, list) and depth > 0:
        return [_without_lone_surrogates(item, depth - 1) for item in value]
    return value
