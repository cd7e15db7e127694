"""Grammar checking behind one small interface, so a text score names exactly which checker judged it.

A backend turns a text into a `GrammarReport`: the grammar errors it counts, and its name and version (recorded in
every score's details). Two backends exist:

- ``harper`` (the default): Harper, a Rust grammar checker shipped as the ``harper-py`` wheel: offline, no Java, about
  two milliseconds per new sentence. Harper also reports spelling and style; only the lint kinds in
  `HARPER_COUNTED_KINDS` and the rules in `HARPER_COUNTED_RULES` count as grammar errors (see docs/text_tasks.md).
  Harper's time grows with the number of rules it runs, so the rules whose lints never count
  (`parallelbench.scoring.harper_rules`) are switched off.
- ``languagetool``: LanguageTool, the paper's checker, through ``language_tool_python``: a LanguageTool server at the
  URL in ``$PARALLELBENCH_LANGUAGETOOL_URL``, or else a LanguageTool already installed locally (Java needed). It never
  downloads anything: when neither is there, asking for it raises `GrammarBackendUnavailable` with what to do.

``$PARALLELBENCH_GRAMMAR`` picks the backend used when none is named (default ``harper``).

On top of every backend, ParallelBench flags a word written twice in a row ("the dog dog barked"): the typical
parallel-decoding failure that Harper lets pass when the word can be a noun and a verb ("dog", "have", "cake").
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version as package_version
from typing import Protocol

from ..errors import ParallelBenchError, UsageError
from .harper_rules import UNCOUNTED_RULES

#: Environment variable naming the default backend ("harper" or "languagetool").
BACKEND_ENV = "PARALLELBENCH_GRAMMAR"
#: Environment variable holding a LanguageTool server URL (e.g. ``http://localhost:8081``).
LANGUAGETOOL_URL_ENV = "PARALLELBENCH_LANGUAGETOOL_URL"
DEFAULT_BACKEND = "harper"
#: Texts longer than this are checked on their first this-many characters (a sentence task answer is far shorter).
MAX_CHECK_CHARS = 5_000

#: Harper lint kinds that are grammar errors: agreement ("He have"), word-boundary errors, wrong verb forms
#: ("goed"), articles (the ``AnA`` rule is filed under Miscellaneous), repeated words, and typos of function words
#: ("to to"). Spelling, style, capitalization, punctuation, formatting, readability, redundancy, regional usage and
#: word-choice advice are preferences or concern names and rare words, so they do not count.
HARPER_COUNTED_KINDS: frozenset[str] = frozenset(
    {"Agreement", "BoundaryError", "Grammar", "Miscellaneous", "Repetition", "Typo"})
#: Rules filed under a kind that does not count, but that flag real grammar errors.
HARPER_COUNTED_RULES: frozenset[str] = frozenset({
    "MissingTo",              # "I want go home" (Word Choice)
    "AdjectiveDoubleDegree",  # "more taller" (Redundancy)
})
#: LanguageTool issue types that are grammar errors ("duplication" is its word-repetition rule).
LANGUAGETOOL_COUNTED_ISSUE_TYPES: frozenset[str] = frozenset({"grammar", "duplication"})

_REPEATED_WORD = re.compile(r"\b([A-Za-z]+(?:'[A-Za-z]+)?)\s+\1\b", re.IGNORECASE)


class GrammarBackendUnavailable(ParallelBenchError, RuntimeError):
    """A grammar backend was asked for but cannot run here; the message says how to make it available."""


@dataclass(frozen=True)
class GrammarError:
    """One counted grammar error.

    Attributes:
        rule: The rule that found it (e.g. ``harper:PronounVerbAgreement``, ``parallelbench:RepeatedWord``).
        text: The flagged part of the text.
        message: The checker's explanation.
    """

    rule: str
    text: str
    message: str


@dataclass(frozen=True)
class GrammarReport:
    """The verdict of a grammar backend on one text.

    Attributes:
        errors: The counted grammar errors, in text order.
        ignored: How many findings of the rules that ran do not count (spelling, style, ...); Harper does not run
            the rules whose findings never count.
        backend: The backend's name.
        version: The backend's version.
    """

    errors: tuple[GrammarError, ...]
    ignored: int
    backend: str
    version: str

    @property
    def ok(self) -> bool:
        """Whether the text has no counted grammar error."""
        return not self.errors

    def details(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data for a score's details."""
        return {
            "grammar_backend": self.backend,
            "grammar_version": self.version,
            "grammar_errors": [f"{error.rule}: {error.text!r}" for error in self.errors],
            "grammar_ignored": self.ignored,
        }


class GrammarBackend(Protocol):
    """What every backend offers: a name, a version and `check`."""

    name: str
    version: str

    def check(self, text: str) -> GrammarReport:
        """Return the grammar errors of `text`."""


def repeated_words(text: str) -> list[GrammarError]:
    """Return every word written twice in a row, case-insensitively ("the the", "dog dog").

    Args:
        text: The text to scan.

    Returns:
        One error per repetition, in text order.
    """
    return [
        GrammarError("parallelbench:RepeatedWord", match.group(0), f"the word {match.group(1)!r} is written twice")
        for match in _REPEATED_WORD.finditer(text)
    ]


def _merge(backend_errors: list[GrammarError], text: str) -> tuple[GrammarError, ...]:
    """Add our repeated-word errors that the backend did not already report at the same words."""
    seen = {error.text.casefold() for error in backend_errors}
    extra = [error for error in repeated_words(text) if error.text.casefold() not in seen]
    return tuple(backend_errors + extra)


def _version_of(distribution: str) -> str:
    try:
        return package_version(distribution)
    except PackageNotFoundError:
        return "unknown"


class HarperBackend:
    """Harper through ``harper-py``: offline and fast; one linter per thread (a linter is not thread-safe).

    Only rules that can report a counted error run (the others are in `UNCOUNTED_RULES`), and overlapping lints are
    all kept (``dedup=False``): Harper's overlap removal is for display, and would let a style hint that covers the
    same words hide a grammar error.
    """

    name = "harper"

    def __init__(self) -> None:
        try:
            import harper
        except ImportError:
            raise GrammarBackendUnavailable(
                "the default grammar backend needs the harper-py package: pip install harper-py") from None
        self._harper = harper
        self.version = f"harper-py {_version_of('harper-py')}"
        self._local = threading.local()

    def _linter(self):  # noqa: ANN202 - harper.Linter, imported lazily
        linter = getattr(self._local, "linter", None)
        if linter is None:
            linter = self._local.linter = self._harper.Linter(self._harper.Dialect.AMERICAN)
            rules = linter.get_default_lint_config()
            linter.set_lint_config({rule: False for rule in UNCOUNTED_RULES if rule in rules})
        return linter

    def check(self, text: str) -> GrammarReport:
        """Return the counted grammar errors of `text` (see `HARPER_COUNTED_KINDS`, `HARPER_COUNTED_RULES`)."""
        text = text[:MAX_CHECK_CHARS]
        counted, ignored = [], 0
        for rule, lints in self._linter().organized_lints(text, language="plaintext", dedup=False).items():
            for lint in lints:
                if lint.lint_kind in HARPER_COUNTED_KINDS or rule in HARPER_COUNTED_RULES:
                    counted.append((lint.span.start, GrammarError(f"harper:{rule}", lint.problem_text, lint.message)))
                else:
                    ignored += 1
        counted.sort(key=lambda item: item[0])
        return GrammarReport(_merge([error for _, error in counted], text), ignored, self.name, self.version)


class LanguageToolBackend:
    """LanguageTool through ``language_tool_python``: a server URL from the environment, or a local install."""

    name = "languagetool"

    def __init__(self, url: str | None = None) -> None:
        try:
            import language_tool_python as ltp
            from language_tool_python.download_lt import LocalLanguageTool
        except ImportError:
            raise GrammarBackendUnavailable(
                "the languagetool grammar backend needs language_tool_python: "
                "pip install 'parallelbench[languagetool]'") from None
        url = url or os.environ.get(LANGUAGETOOL_URL_ENV)
        if url:
            self._tool = ltp.LanguageTool("en-US", remote_server=url)
            self.version = f"LanguageTool server at {url} (language_tool_python {_version_of('language-tool-python')})"
            return
        installed = LocalLanguageTool.get_latest_installed_version()
        if installed is None:
            raise GrammarBackendUnavailable(
                f"the languagetool grammar backend found no LanguageTool: set {LANGUAGETOOL_URL_ENV} to a LanguageTool "
                "server URL, or install LanguageTool locally once (it needs Java 17+; e.g. run "
                "`python -c \"import language_tool_python; language_tool_python.LanguageTool('en-US')\"` "
                "with network access). Scoring never downloads it.")
        self._tool = ltp.LanguageTool("en-US", language_tool_download_version=installed.version_name)
        self.version = f"LanguageTool {installed.version_name} (language_tool_python {_version_of('language-tool-python')})"

    def check(self, text: str) -> GrammarReport:
        """Return the matches of `text` whose issue type is in `LANGUAGETOOL_COUNTED_ISSUE_TYPES`."""
        text = text[:MAX_CHECK_CHARS]
        counted, ignored = [], 0
        for match in self._tool.check(text):
            if match.rule_issue_type in LANGUAGETOOL_COUNTED_ISSUE_TYPES:
                flagged = text[match.offset : match.offset + match.error_length]
                counted.append(GrammarError(f"languagetool:{match.rule_id}", flagged, match.message))
            else:
                ignored += 1
        return GrammarReport(_merge(counted, text), ignored, self.name, self.version)


_BACKENDS = {"harper": HarperBackend, "languagetool": LanguageToolBackend}


def backend_name(name: str | None = None) -> str:
    """Return the backend that `name` means: itself, or for None ``$PARALLELBENCH_GRAMMAR``, else ``harper``."""
    return name or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND


@lru_cache(maxsize=None)
def _build(name: str) -> GrammarBackend:
    if name not in _BACKENDS:
        raise UsageError(f"unknown grammar backend {name!r}; known: {', '.join(sorted(_BACKENDS))}")
    return _BACKENDS[name]()


def get_backend(name: str | None = None) -> GrammarBackend:
    """Return the grammar backend `name`, built once per process.

    Args:
        name: ``harper`` or ``languagetool``; None means the default (see `backend_name`).

    Returns:
        The backend.

    Raises:
        UsageError: For an unknown name.
        GrammarBackendUnavailable: When the backend cannot run here (the message says what to install).
    """
    return _build(backend_name(name))


@lru_cache(maxsize=8192)
def _check_cached(text: str, name: str) -> GrammarReport:
    return _build(name).check(text)


def check_grammar(text: str, backend: str | None = None) -> GrammarReport:
    """Return the grammar report of `text` (cached: the same text always gets the same report).

    Args:
        text: The text to check.
        backend: A backend name, or None for the default (see `backend_name`).

    Returns:
        The `GrammarReport`.
    """
    return _check_cached(text, backend_name(backend))
