"""The errors ParallelBench raises for a user's mistake, so that callers can tell them from bugs.

Everything raised because of what a user asked for (an unknown task, a bad parameter, a malformed row, a folder
that cannot be built into) is a `ParallelBenchError`. The CLI prints those as one line with exit status 2; any
other exception is a bug and is shown with its traceback. The subclasses that replace an earlier `ValueError` are
also `ValueError`s, so code written against the older API keeps catching them.
"""

from __future__ import annotations


class ParallelBenchError(Exception):
    """A mistake in what the user asked for: the message says what to change."""


class UsageError(ParallelBenchError, ValueError):
    """An unknown task, split or parameter, or an argument out of range."""


class MalformedRowError(ParallelBenchError, ValueError):
    """A row or its reference lacks a field or holds one of the wrong type; the message names the field."""


class FolderError(ParallelBenchError, ValueError):
    """A build folder that cannot be read, built into or replaced as asked (not a build, busy, malformed manifest)."""
