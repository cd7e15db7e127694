"""Turning a free-text prediction into the answer it holds, strictly or leniently.

Shared by every validator. Lenient mode forgives what a human grader would forgive (code fences, an "Answer:"
prefix, smart quotes, prose around the answer, trailing punctuation); strict mode takes the text exactly as the
prompt asked for it. Nothing here raises on any input string: failures come back as a reason.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from typing import Any

#: Past this many characters a prediction is not an answer to any of our tasks; it is cut before parsing.
MAX_PREDICTION_CHARS = 100_000
#: How many opening brackets lenient parsing tries as the start of the answer.
MAX_LIST_STARTS = 32

_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u2018": "'", "\u2019": "'", "\u2032": "'"})
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n?(.*?)```", re.DOTALL)
_ANSWER_PREFIX = re.compile(r"^\**\s*(?:final\s+)?answer\s*\**\s*[:\-]\s*\**\s*", re.IGNORECASE)


def as_text(prediction: object) -> str:
    """Return `prediction` as a string that is safe to process (no lone surrogates), cut to a sane length."""
    if isinstance(prediction, bytes):
        prediction = prediction.decode("utf-8", errors="replace")
    elif not isinstance(prediction, str):
        prediction = "" if prediction is None else str(prediction)
    text = prediction[:MAX_PREDICTION_CHARS]
    if not text.isascii():  # only non-ASCII text can hold a lone surrogate
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def unwrap(text: str) -> str:
    """Remove what a grader would ignore around an answer: a code fence, an "Answer:" prefix, smart quotes."""
    text = text.translate(_SMART_QUOTES)
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
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


def _list_at(text: str, start: int) -> list[Any] | None:
    """Return the list that starts at `text[start]` ("[") and ignore what follows it, or None."""
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        value = None
        close = text.find("]", start)
        if "'" in text[start:close] and 0 < close - start <= 10_000:
            try:  # a Python-style list with single quotes
                value = ast.literal_eval(text[start : close + 1])
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                value = None
    return value if isinstance(value, list) else None


def extract_list(prediction: object, strict: bool) -> tuple[list[Any] | None, str]:
    """Find the list a prediction holds.

    Args:
        prediction: The model's output (any object; non-strings are treated as text).
        strict: When True the whole text (outer whitespace aside) must be one JSON array.

    Returns:
        ``(items, "")`` on success, else ``(None, reason)``.
    """
    text = as_text(prediction)
    if not text.strip():
        return None, "empty prediction"
    value = None
    if text.lstrip(_JSON_WHITESPACE).startswith("["):  # the common case, and the only one strict mode accepts
        try:  # the whole text is a JSON array
            value = json_document(text)
        except (ValueError, RecursionError):
            pass
    if isinstance(value, list):
        return value, ""
    if strict:
        return None, "not a JSON array"
    text = unwrap(text)
    start = text.find("[")
    if start < 0:
        return None, "no list found"
    for _ in range(MAX_LIST_STARTS):
        value = _list_at(text, start)
        if value is not None:
            return value, ""
        start = text.find("[", start + 1)
        if start < 0:
            break
    return None, "no parsable list found"
