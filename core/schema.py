"""The one row schema shared by every task, and the verdict type every scorer returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedRowError
from .validators.parsing import json_document

#: Put in the dataset card and in every row's metadata so that benchmark rows can be filtered out of training data.
CANARY = "PARALLELBENCH CANARY 6f1d2c9e-parallelbench-do-not-train-7b3a"

#: The columns of every row, in order (``ROW_SCHEMA`` gives their Arrow types).
COLUMNS: tuple[str, ...] = ("id", "task", "family", "seed", "index", "prompt", "messages", "answer", "reference",
                            "output_format", "n_answers", "metadata", "difficulty")


def __getattr__(name: str) -> Any:
    """Make ``ROW_SCHEMA`` on first use: pyarrow takes a tenth of a second to import, and neither generating rows
    to JSON lines nor scoring needs it.

    ``ROW_SCHEMA`` is `COLUMNS` with their Arrow types: every task's rows have exactly these columns with exactly
    these types.
    """
    if name != "ROW_SCHEMA":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pyarrow as pa

    text, number = pa.string(), pa.int64()
    types = {"seed": number, "index": number, "n_answers": number,
             "messages": pa.list_(pa.struct([("role", text), ("content", text)]))}
    schema = pa.schema([(column, types.get(column, text)) for column in COLUMNS])
    globals()["ROW_SCHEMA"] = schema
    return schema


#: How every Parquet file of rows is written, so that the same rows always give the same bytes. Dictionary encoding
#: only for the columns that repeat within a task; for the others it costs time and saves nothing after zstd.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "write_statistics": False,
    "use_dictionary": ["task", "family", "output_format", "difficulty"],
}


@dataclass(frozen=True, init=False)
class Score:
    """The verdict on one prediction.

    Attributes:
        value: The score in [0, 1]; for exact tasks 1.0 when correct, else 0.0.
        correct: Whether the prediction is accepted.
        reason: A short human explanation ("ok", "name missing: Ann Lee", "identical to the input", ...).
        details: Extra facts about the check (parse mode, parsed answer length, backend names, ...); a new empty
            dict when not given (or given as None).
    """

    value: float
    correct: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def __init__(self, value: float, correct: bool, reason: str, details: dict[str, Any] | None = None) -> None:
        # The generated __init__ of a frozen dataclass sets each field through object.__setattr__, which costs
        # more than a list check itself; filling __dict__ once gives the same object (still frozen) in half the time.
        self.__dict__.update(value=value, correct=correct, reason=reason, details={} if details is None else details)


def passed(reason: str = "ok", **details: Any) -> Score:
    """Return a full-credit verdict."""
    return Score(1.0, True, reason, details)


def failed(reason: str, **details: Any) -> Score:
    """Return a zero-credit verdict."""
    return Score(0.0, False, reason, details)


def parse_reference(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a row's `reference` as a dict, raising `ValueError` when the row is malformed.

    Args:
        row: A generated row (a mapping with at least ``task`` and ``reference``).

    Returns:
        The decoded reference object.
    """
    if not isinstance(row, (dict, Mapping)):  # dict first: the abstract-class check costs more than the parse
        raise MalformedRowError(f"a row must be a mapping of columns, got {type(row).__name__}")
    for column in ("task", "reference"):
        if column not in row:
            raise MalformedRowError(f"malformed row: missing column {column!r}")
    try:
        reference = json_document(row["reference"])
    except (TypeError, ValueError) as error:
        raise MalformedRowError(f"malformed row {row.get('id', '?')!r}: reference is not JSON text ({error})") from None
    if not isinstance(reference, dict):
        raise MalformedRowError(f"malformed row {row.get('id', '?')!r}: reference must be a JSON object")
    return reference
