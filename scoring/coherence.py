"""The coherence judge: does a text read as complete English sentences made of real words?

Parallel decoding fills several positions at once from their marginals, so its typical failures are texts whose
tokens are each plausible but do not fit together: scrambled order ("Dog park the throw ball"), a word list
("ball, throw, park, dog."), truncation ("and it to grow a", a dangling "and."), tokens cut or fused
("cr.", "croissantissantissant") and repeated words or phrases ("in the park in the park"). A grammar checker such
as Harper looks for local errors and lets most of these pass; a parser that must account for every word does not.

The judge asks three questions of every sentence of the text, and the text is coherent when all answers are yes:

1. **Does it parse completely?** The CMU Link Grammar parser (the C library ``liblink-grammar``, called through
   `ctypes`; Debian packages ``liblink-grammar5`` and ``link-grammar-dictionaries-en``) must find a linkage of the
   whole sentence with no null link (no word left out) that passes its post-processing rules.
2. **Is every token a word?** A token the parser's dictionary does not list and guesses from its shape (an unknown
   word, or one it only matched by a pattern such as "ends in -s" or "is capitalized") must be an English word in
   the `lemminflect` lexicon, a number, or one of the ``known_words`` the caller names (the people, companies and
   required words of the row). A capitalized guess inside a sentence is taken as a proper name; the first word of a
   sentence is capitalized anyway, so there it must be a known word or a first or last name of Faker's en_US tables.
3. **Is it whole, and said once?** No sequence of one to eight words is written twice in a row, punctuation aside
   ("book book", "work, work", "the dog the dog"; "had had" and a doubled part of a known name are fine); no bare
   noun phrase without a verb; no list of one- or two-word pieces between commas ("ball, throw, park, dog."); no
   ending on a word or mark that leaves the sentence unfinished ("the plane would.", "... and", a final comma).

Sentences are split at ``.``, ``!`` or ``?`` followed by a space or directly by a capital letter ("ball.His"),
except after a common abbreviation ("Mr.", "p.m."), an initial ("J. K.") or inside a number ("3.5").

The library is loaded once per process. When it is missing, `judge_coherence` raises `CoherenceJudgeUnavailable`
with the command that installs it: a text score is never silently computed without its judge.
``$PARALLELBENCH_LINK_GRAMMAR_LIB`` names the library file when it is not where the system looks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version as package_version
from typing import Callable, Iterable

from .grammar import GrammarBackendUnavailable

#: Environment variable naming the Link Grammar library file (e.g. ``/opt/lib/liblink-grammar.so.5``).
LIBRARY_ENV = "PARALLELBENCH_LINK_GRAMMAR_LIB"
#: How to install what the judge needs, shown when it is missing.
INSTALL_HINT = (
    "the coherence judge of the text tasks needs the Link Grammar library and its English dictionary: on Debian or "
    "Ubuntu run `sudo apt-get install liblink-grammar5 link-grammar-dictionaries-en`, on macOS `brew install "
    f"link-grammar`; or set {LIBRARY_ENV} to the library file")
#: Seconds the parser may spend on one sentence; a sentence it cannot settle in this time is not judged coherent.
MAX_PARSE_SECONDS = 2
#: How many linkages the parser extracts and post-processes per sentence; one that passes is enough.
LINKAGE_LIMIT = 100
#: The sample of a second parse, when the first sample held no reading without problems but more linkages exist
#: (a gold sentence with 296 linkages had 5 valid ones among 100 sampled, none among 30).
MAX_LINKAGE_LIMIT = 10_000
#: The name every known name of a row is parsed as (see `_names_pattern`).
NAME_STAND_IN = "Smith"
_CALENDAR_NAMES = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
})
#: The longest repeated run of words the judge looks for ("in the park in the park" is a run of three).
MAX_REPEATED_RUN = 8
#: Words that English writes twice in a row on purpose ("what he had had", "he said that that was fine").
GRAMMATICAL_DOUBLES = frozenset({"had", "that"})

#: The parser's link from the start of a sentence to a bare noun phrase ("Heavy rain in the old city."): no verb.
NOUN_PHRASE_LINK = "Wa"
#: A sentence of this many comma-separated pieces of one or two words each is a word list ("ball, throw, park, dog.").
LIST_MIN_ITEMS = 3
#: Words a finished sentence does not end with; the parser accepts some as an ellipsis ("that the plane would.").
DANGLING_ENDINGS = frozenset({
    "a", "an", "the", "and", "or", "but", "nor", "to", "of", "would", "could", "should", "will", "shall", "can",
    "must", "might", "may", "whose", "my", "your", "his", "its", "our", "their",
})

_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs", "etc", "e.g", "i.e", "a.m", "p.m", "approx", "no",
})
#: End punctuation (with closing quotes or brackets) followed by a space, or directly by a letter ("ball.His"),
#: or a line break; `split_sentences` decides which of these end a sentence.
_BOUNDARY = re.compile(r"(?:[.!?]+|\u2026)[\"'\u201d\u2019)\]]*(?:\s+(?=\S)|(?=[^\W\d_]|\u201c))|\s*\n\s*(?=\S)")
#: Initials and dotted capitals before a full stop: "J" (of "J. K."), "J.K", "U.S".
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")
_HAS_CONTENT = re.compile(r"[^\W_]")
# A run of three or more letters written twice inside one token ("riverphonyphony", "Egyptegypt").
_FUSED = re.compile(r"([^\W\d_]{3,})\1", re.IGNORECASE)
# A mark written twice ("??", "!!", ",,", ". ."), but not an ellipsis ("...").
_DOUBLED_MARK = re.compile(r"([?!,;:])\s*\1|(?<!\.)\.\s*\.(?!\.)")
_TRAILING_ELLIPSIS = re.compile(r"(?:\.{3}|\u2026)$")  # the parser reads "...", "\u2026" at the end as nothing
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.,:]\d+)*")
_GUESS = re.compile(r"^(?P<word>.+?)\[(?P<kind>[?!~])(?:<(?P<pattern>[^>]*)>)?\]")
#: Patterns of the English dictionary whose guesses are numbers, dates or units, always real tokens.
_NUMERIC_PATTERNS = frozenset({
    "NUMBERS", "FRACTION", "ORDINALS", "DECADE-DATE", "YEAR-DATE", "DAY-ORDINALS", "HMS-TIME", "UNITS", "INITIALS",
    "PART-NUMBER",
})
_CAPITALIZED_PATTERNS = frozenset({"CAPITALIZED-WORDS", "PL-CAPITALIZED-WORDS", "ALL-UPPER", "PL-ALL-UPPER"})


class CoherenceJudgeUnavailable(GrammarBackendUnavailable):
    """The Link Grammar library or its English dictionary is missing; the message says how to install it."""


@dataclass(frozen=True)
class CoherenceReport:
    """The coherence judge's verdict on one text.

    Attributes:
        problems: What makes the text incoherent, one line per finding, in text order (empty when coherent).
        judge: The judge's name and versions (parser library, dictionary, word lexicon).
        judged: False when the judge was not asked (see `not_judged`).
    """

    problems: tuple[str, ...]
    judge: str
    judged: bool = True

    @property
    def ok(self) -> bool:
        """Whether every sentence parses completely, every token is a word and nothing is repeated."""
        return not self.problems

    def details(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data for a score's details (``coherent`` is None when not judged)."""
        return {"coherent": self.ok if self.judged else None, "coherence_problems": list(self.problems),
                "coherence_judge": self.judge}


def split_sentences(text: str) -> list[str]:
    """Return the sentences of `text`, each stripped.

    A sentence ends at ``.``, ``!``, ``?`` or an ellipsis (with any closing quotes or brackets) followed by a space
    or directly by a capital letter ("ball.His"), and at a line break. These do not end one: a mark followed by a
    lowercase letter with no space ("e.g.", "example.com", "3.5"), a full stop after a common abbreviation ("Mr.
    Smith", "p.m.") or after initials ("J. K. Rowling", "the U.S. Army"), and an ellipsis followed by a lowercase
    word ("He waited... then left.").

    Args:
        text: Any text.

    Returns:
        The sentences holding a letter or digit, in order (a lone punctuation mark is not a sentence).
    """
    sentences, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        piece = text[start : boundary.start()]
        mark, follower = boundary.group(0), text[boundary.end()]
        if "\n" not in mark and not _ends_sentence(piece, mark, follower):
            continue
        sentences.append(piece + mark.rstrip())
        start = boundary.end()
    sentences.append(text[start:])
    return [sentence.strip() for sentence in sentences if _HAS_CONTENT.search(sentence)]


def _ends_sentence(piece: str, mark: str, follower: str) -> bool:
    """Whether `mark` (no line break in it), after `piece` and before the character `follower`, ends a sentence."""
    if not mark[-1].isspace() and not (follower.isupper() or follower == "\u201c"):
        return False  # "e.g.", "p.m.", "example.com": no space and no capital (or opening quote), so no new sentence
    last_word = piece.rsplit(None, 1)[-1].rstrip(".") if piece.split() else ""
    if mark.startswith(".") and (last_word.casefold() in _ABBREVIATIONS
                                 or (last_word.isupper() and _INITIALS.fullmatch(last_word))):
        return False  # "Mr. Smith", "J. K. Rowling", "J.K. Rowling", "the U.S. Army"
    return not (mark.startswith(("..", "\u2026")) and follower.islower())  # "He waited... then left."


@dataclass(frozen=True)
class Linkage:
    """One complete parse of a sentence.

    Attributes:
        words: The parser's words, LEFT-WALL and RIGHT-WALL included, each with its dictionary tag (``dog.n``) or
            guess mark (``blorf[?].n``, ``Hammond[!<CAPITALIZED-WORDS>]``).
        labels: The labels of the links between them (``Ss``, ``Os``, ``Wd``, ...).
    """

    words: tuple[str, ...]
    labels: tuple[str, ...]


class _LinkGrammar:
    """The parser library with the English dictionary, loaded once per process; parses are serialised by a lock."""

    def __init__(self) -> None:
        path = os.environ.get(LIBRARY_ENV) or ctypes.util.find_library("link-grammar")
        if not path:
            raise CoherenceJudgeUnavailable(INSTALL_HINT)
        try:
            lib = ctypes.CDLL(path)
        except OSError as error:
            raise CoherenceJudgeUnavailable(f"{INSTALL_HINT} ({error})") from None
        _declare(lib)
        self._silence(lib)
        dictionary = lib.dictionary_create_lang(b"en")
        if not dictionary:
            raise CoherenceJudgeUnavailable(f"{INSTALL_HINT} (the English dictionary was not found)")
        options = lib.parse_options_create()
        lib.parse_options_set_verbosity(options, 0)
        lib.parse_options_set_min_null_count(options, 0)
        lib.parse_options_set_max_null_count(options, 0)
        lib.parse_options_set_spell_guess(options, 0)
        lib.parse_options_set_max_parse_time(options, MAX_PARSE_SECONDS)
        self._lib, self._dictionary, self._options = lib, dictionary, options
        self._lock = threading.Lock()
        self.version = (f"{lib.linkgrammar_get_version().decode()} "
                        f"(dictionary {lib.linkgrammar_get_dict_version(dictionary).decode()})")

    def _silence(self, lib: ctypes.CDLL) -> None:
        """Keep the library's informational messages (e.g. about the locale) off stderr."""
        self._handler = _ERROR_HANDLER(lambda info, data: None)  # kept alive as long as the library uses it
        lib.lg_error_set_handler(self._handler, None)

    def best_reading(self, sentence: str, problems_of: Callable[[Linkage], list[str]]) -> list[str] | None:
        """Return the problems of the best complete reading of `sentence`, or None when it has none.

        The parser may read a sentence several ways ("Professional wrestling ..." as an adjective and a noun, or
        as a name): each linkage that covers every word and passes post-processing is judged by `problems_of`, in the
        parser's order, and the first with the fewest problems wins (the search stops at one without any). The
        parser post-processes a sample of `LINKAGE_LIMIT` linkages; when none of them is a reading without problems
        and it found more, the sentence is parsed again with up to `MAX_LINKAGE_LIMIT` (rare, and slower). None
        means that no linkage covers every word, none passes post-processing, or the parse timed out.
        """
        lib = self._lib
        with self._lock:
            handle = lib.sentence_create(sentence.encode("utf-8"), self._dictionary)
            if not handle:
                return None
            try:
                best = None
                for limit in (LINKAGE_LIMIT, MAX_LINKAGE_LIMIT):
                    lib.parse_options_set_linkage_limit(self._options, limit)
                    lib.sentence_parse(handle, self._options)
                    if lib.parse_options_timer_expired(self._options):
                        return None
                    best = self._best(handle, problems_of)
                    if best == [] or lib.sentence_num_linkages_found(handle) <= limit:
                        break
                return best
            finally:
                lib.sentence_delete(handle)

    def _best(self, handle: int, problems_of: Callable[[Linkage], list[str]]) -> list[str] | None:
        """The fewest problems of a post-processed linkage without violations (None when there is none)."""
        lib, best = self._lib, None
        for index in range(lib.sentence_num_linkages_post_processed(handle)):
            if lib.sentence_num_violations(handle, index) == 0:
                problems = problems_of(self._linkage(handle, index))
                if best is None or len(problems) < len(best):
                    best = problems
                if not best:
                    break
        return best

    def knows(self, word: str) -> bool:
        """Whether the dictionary lists `word` or one of its patterns matches it (used for parts of hyphenated words)."""
        return bool(self._lib.dictionary_word_is_known(self._dictionary, word.encode("utf-8")))

    def _linkage(self, sentence: int, index: int) -> Linkage:
        lib = self._lib
        linkage = lib.linkage_create(index, sentence, self._options)
        try:
            words = tuple(lib.linkage_get_word(linkage, i).decode("utf-8", "replace")
                          for i in range(lib.linkage_get_num_words(linkage)))
            labels = tuple(lib.linkage_get_link_label(linkage, i).decode("utf-8", "replace")
                           for i in range(lib.linkage_get_num_links(linkage)))
            return Linkage(words, labels)
        finally:
            lib.linkage_delete(linkage)


_ERROR_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def _declare(lib: ctypes.CDLL) -> None:
    """Give ctypes the C signatures of the functions the judge calls (see link-grammar/link-includes.h)."""
    pointer, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "linkgrammar_get_version": (text, []),
        "linkgrammar_get_dict_version": (text, [pointer]),
        "lg_error_set_handler": (pointer, [_ERROR_HANDLER, pointer]),
        "dictionary_create_lang": (pointer, [text]),
        "dictionary_word_is_known": (ctypes.c_bool, [pointer, text]),
        "parse_options_create": (pointer, []),
        "parse_options_set_verbosity": (None, [pointer, number]),
        "parse_options_set_min_null_count": (None, [pointer, number]),
        "parse_options_set_max_null_count": (None, [pointer, number]),
        "parse_options_set_spell_guess": (None, [pointer, number]),
        "parse_options_set_linkage_limit": (None, [pointer, number]),
        "parse_options_set_max_parse_time": (None, [pointer, number]),
        "parse_options_timer_expired": (ctypes.c_bool, [pointer]),
        "sentence_create": (pointer, [text, pointer]),
        "sentence_delete": (None, [pointer]),
        "sentence_parse": (number, [pointer, pointer]),
        "sentence_num_linkages_found": (number, [pointer]),
        "sentence_num_linkages_post_processed": (number, [pointer]),
        "sentence_num_violations": (number, [pointer, number]),
        "linkage_create": (pointer, [number, pointer, pointer]),
        "linkage_delete": (None, [pointer]),
        "linkage_get_num_words": (number, [pointer]),
        "linkage_get_word": (text, [pointer, number]),
        "linkage_get_num_links": (number, [pointer]),
        "linkage_get_link_label": (text, [pointer, number]),
    }
    for name, (result, arguments) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = result, arguments


@lru_cache(maxsize=1)
def _parser() -> _LinkGrammar:
    return _LinkGrammar()


@lru_cache(maxsize=1)
def _proper_names() -> frozenset[str]:
    """Faker's en_US first and last names: the names a sentence may start with."""
    from faker.providers.person.en_US import Provider

    return frozenset(name.casefold() for name in (*Provider.first_names, *Provider.last_names))


@lru_cache(maxsize=65536)
def _in_lexicon(word: str) -> bool:
    from lemminflect import getAllLemmas

    return bool(getAllLemmas(word) or getAllLemmas(word.casefold()))


def _lexicon_version() -> str:
    try:
        return f"lemminflect {package_version('lemminflect')}"
    except PackageNotFoundError:
        return "lemminflect (version unknown)"


@lru_cache(maxsize=1)
def judge_version() -> str:
    """Return the judge's name with the versions of the parser library, its dictionary and the word lexicon.

    Raises:
        CoherenceJudgeUnavailable: When the Link Grammar library or its dictionary is missing.
    """
    return f"link-grammar {_parser().version}; {_lexicon_version()}"


def _not_words(words: tuple[str, ...], known: frozenset[str]) -> list[str]:
    """Return a problem line for each token of a linkage (`Linkage.words`) that is not an English word."""
    rejected = []
    for position, word in enumerate(w for w in words if w not in ("LEFT-WALL", "RIGHT-WALL")):
        guess = _GUESS.match(word)
        if guess is None:
            continue  # the dictionary lists it
        token, pattern = guess["word"], guess["pattern"] or ""
        if pattern in _NUMERIC_PATTERNS or token.casefold() in known:
            continue
        if _FUSED.search(token):
            rejected.append(f"not a word (a fused repeat): {token!r}")
        elif pattern in _CAPITALIZED_PATTERNS:
            # Read as a name. Inside a sentence a name the dictionary lacks is normal ("Virat", "PayPal"); the first
            # word is capitalized anyway, so there it must be a first or last name of Faker's tables.
            if position > 0 or token.casefold() in _proper_names():
                continue
            rejected.append(f"not a word or a known name: {token!r}")
        elif pattern == "HYPHENATED-WORDS":
            if not all(part.casefold() in known or _in_lexicon(part) or _parser().knows(part)
                       for part in token.split("-") if part):
                rejected.append(f"not a word: {token!r}")
        elif not _in_lexicon(token):
            rejected.append(f"not a word: {token!r}")
    return rejected


def _shape_problems(sentence: str, linkage: Linkage) -> list[str]:
    """Return what makes a completely parsed sentence a fragment, a word list or a truncation."""
    problems = []
    if NOUN_PHRASE_LINK in linkage.labels:
        problems.append(f"no verb: {sentence!r}")
    pieces = [piece.split() for piece in sentence.rstrip(".!?\"' ").split(",")]
    if len(pieces) >= LIST_MIN_ITEMS and all(len(piece) <= 2 for piece in pieces):
        problems.append(f"a list of words, not a sentence: {sentence!r}")
    words = _WORD.findall(sentence)
    if words and words[-1] in DANGLING_ENDINGS:  # lowercase as written: "next May" ends with a month
        problems.append(f"ends with {words[-1]!r}: truncated")
    elif sentence.rstrip("\"'\u201d\u2019)] ").endswith((",", ";", ":")):
        problems.append(f"ends with {sentence.rstrip()[-1]!r}: truncated")
    if _DOUBLED_MARK.search(sentence):
        problems.append(f"repeated punctuation: {_DOUBLED_MARK.search(sentence).group(0)!r}")
    return problems


def _repeated_runs(sentence: str, known: frozenset[str]) -> list[str]:
    """Return every run of 1 to `MAX_REPEATED_RUN` words written twice in a row, punctuation between them ignored
    ("book book", "work, work", "in the park in the park"); a doubled part of a known name ("Martin Martin") and the
    grammatical doubles in `GRAMMATICAL_DOUBLES` ("had had") are not repetitions."""
    written = _WORD.findall(sentence)
    tokens = [token.casefold() for token in written]
    found = []
    for size in range(1, MAX_REPEATED_RUN + 1):
        for start in range(len(tokens) - 2 * size + 1):
            run = tokens[start : start + size]
            if run != tokens[start + size : start + 2 * size]:
                continue
            if set(run) <= known and all(token[0].isupper() for token in written[start : start + 2 * size]):
                continue  # a name whose parts are equal
            if size == 1 and run[0] in GRAMMATICAL_DOUBLES:
                continue
            found.append(" ".join(run))
    return found


@lru_cache(maxsize=1024)
def _names_pattern(known_words: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern matching the known names of a row as whole words, longest first (None when there are none).

    A name is a known word that starts with a capital letter and is not a day or a month ("Nguyen Ltd",
    "Kathleen Peterson", "Phoenix"): the parser's dictionary lacks most such names or knows them as something else
    ("phoenix", a bird), so each is parsed as `NAME_STAND_IN`, a name it knows.
    """
    names = sorted((word for word in known_words if word[:1].isupper() and word.casefold() not in _CALENDAR_NAMES),
                   key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(name) for name in names) + r")(?![\w])")


def not_judged(reason: str) -> CoherenceReport:
    """A report for a text the judge need not read: a cheaper check has already failed it, so the verdict stands.

    The parse costs a few milliseconds per sentence, most of a text score's time, and it could not change a verdict
    that is already "not correct" (nor a value already 0). The report still names the judge and its versions, and
    it raises like `judge_coherence` when the judge is missing, so a score never depends on whether it is installed.

    Args:
        reason: Why the judge was not asked (e.g. "the answer already fails").

    Returns:
        A report with no problems, ``judged`` False.

    Raises:
        CoherenceJudgeUnavailable: When the Link Grammar library or its English dictionary is missing.
    """
    return CoherenceReport((), f"{judge_version()} (not run: {reason})", judged=False)


def judge_coherence(text: str, known_words: Iterable[str] = ()) -> CoherenceReport:
    """Judge whether `text` is made of complete English sentences of real words (see the module docstring).

    Args:
        text: One or more sentences.
        known_words: Words and names the text may rightly contain that the dictionary may lack (the row's people,
            companies, cities, required words and their forms); multi-word names count word by word.

    Returns:
        The `CoherenceReport`, listing every problem found.

    Raises:
        CoherenceJudgeUnavailable: When the Link Grammar library or its English dictionary is missing.
    """
    parser = _parser()
    known_words = list(known_words)
    known = frozenset(part.casefold() for name in known_words for part in re.split(r"[\s-]+", name) if part)
    names = _names_pattern(tuple(sorted(set(known_words))))
    sentences = split_sentences(text)
    if not sentences:
        return CoherenceReport(("no sentence",), judge_version())
    problems: list[str] = []
    for sentence in sentences:
        parsed = _TRAILING_ELLIPSIS.sub(".", names.sub(NAME_STAND_IN, sentence) if names else sentence)
        reading = parser.best_reading(
            parsed, lambda linkage: _not_words(linkage.words, known) + _shape_problems(sentence, linkage))
        problems.extend([f"no complete parse: {sentence!r}"] if reading is None else reading)
        problems.extend(f"repeated words: {run!r}" for run in _repeated_runs(sentence, known))
    return CoherenceReport(tuple(problems), judge_version())
