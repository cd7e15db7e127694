"""Scores for paraphrase and summarization: a graded score, a pass threshold, and exact facts and roles checks.

Paraphrase: ``value = (1 - BLEU(prediction, source)) x similarity(prediction, source) x fluent``, where BLEU is our
smoothed BLEU (`parallelbench.scoring.overlap.bleu`) and ``fluent`` is 1 when the grammar backend finds no counted
error and the text repeats no phrase of `REPEATED_PHRASE_WORDS` words, else 0. A copy of the source scores 0; a
fluent rewording that keeps the meaning scores high. Correct means ``value >= PARAPHRASE_PASS``, every entity of the
source (the reference's ``entities``: people, company, city, day, month, number) kept as whole words, and every fact
of the reference's ``roles`` stated the right way round (`parallelbench.validators.roles`: "Smith LLC bought ...
from Maria Lopez" exchanges buyer and seller).

Summarization: ``value = ROUGE-L(prediction, reference summary) x fluent`` (rouge-score, stemmed, as the paper).
Beside it, an exact facts check: the summary names every person of the dialogue and every key fact (the place, item
or day of the plan), as whole words, ignoring case; and no fact of ``roles`` is stated the wrong way round ("Ann will
lend Ben ..." when Ben lends). Correct means those checks hold and ``value >= SUMMARY_PASS``.

The Score's ``value`` is the graded score in [0, 1]; ``correct`` is the threshold decision with the checks, so a
gold answer is correct while its value is below 1 (a good paraphrase must differ from its source). Before any
metric, a prediction must be prose: at least `MIN_WORDS` words of English letters (a word is a run of 1 to
`MAX_WORD_LETTERS` letters a-z). Anything else (empty text, markup, numbers, JSON, one or two words, a run of letters
longer than any English word) scores exactly 0: the metrics would otherwise give it a little credit, since a
sentence model finds some similarity in any text and a summary shares words such as "a". Every part is in the
details, with the grammar backend and the similarity method (``minilm`` or ``lexical-fallback``) and their
versions, and, side by side, the original release's metrics (`parallelbench.scoring.paper_metrics`: its BLEU,
ROUGE-1/2/L and LanguageTool's zero-match verdict). Lenient mode forgives an "Answer:" prefix, a code fence and
wrapping quotes.
"""

from __future__ import annotations

import re
from typing import Any

from ..schema import Score
from ..scoring.coherence import judge_coherence, not_judged
from ..scoring.grammar import check_grammar
from ..scoring.overlap import bleu, overlap_tokens
from ..scoring.paper_metrics import paper_metrics
from ..scoring.similarity import similarity
from .parsing import as_text, unwrap
from .roles import AMBIGUOUS, KEPT, SWAPPED, RoleVerdict, judge_roles
from .words_to_sentence import uses

#: A paraphrase is correct when its score reaches this: e.g. BLEU 0.5 and similarity 0.6 give exactly 0.3.
PARAPHRASE_PASS = 0.3
#: A summary is correct when its facts check holds and its score reaches this.
SUMMARY_PASS = 0.3

#: A prediction needs this many words to be prose: the sources and summaries state facts about named people, things
#: and days, and no text of fewer than three words (a subject, a verb and what it acts on) can restate one.
MIN_WORDS = 3
#: The longest word in major English dictionaries has 45 letters; a longer run of letters is not a word.
MAX_WORD_LETTERS = 45
#: A text that holds the same run of this many words twice repeats itself (see `repeated_phrase`).
REPEATED_PHRASE_WORDS = 4

_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_LETTER_RUN = re.compile(r"[A-Za-z]+")
_SPEAKER = re.compile(r"^\s*([^\W\d_][\w'-]*):", re.MULTILINE)  # "Rosa: Can you bring the tent?"


def _text_of(text: str, strict: bool) -> str:
    text = text.strip()
    if strict:
        return text
    text = unwrap(text)
    if len(text) >= 2 and text[0] in _WRAPPING_QUOTES and text[-1] in _WRAPPING_QUOTES:
        text = text[1:-1].strip()
    return text


def prose_words(text: str) -> int:
    """Return how many words of English letters `text` holds, counting up to `MIN_WORDS`.

    Args:
        text: The prediction (after unwrapping in lenient mode).

    Returns:
        The number of runs of 1 to `MAX_WORD_LETTERS` letters a-z, capped at `MIN_WORDS`.
    """
    count = 0
    for run in _LETTER_RUN.finditer(text):
        if run.end() - run.start() <= MAX_WORD_LETTERS:
            count += 1
            if count == MIN_WORDS:
                break
    return count


def _missing(found: list[str], names: list[str]) -> list[str]:
    """Return the names (people, places, facts) that do not occur in the tokens `found` as whole words."""
    return [name for name in names if not uses(found, [" ".join(overlap_tokens(name))])]


def repeated_phrase(text: str) -> str | None:
    """Return the first run of `REPEATED_PHRASE_WORDS` words that `text` holds twice, or None.

    A paraphrase or a one- or two-sentence summary has no reason to say the same four words twice; a text that
    does repeats itself (a doubled sentence or clause), which parallel decoding produces and which overlap metrics
    partly reward (a doubled summary keeps all of ROUGE-L's recall).

    Args:
        text: The prediction.

    Returns:
        The repeated words joined by spaces (lowercase), or None.
    """
    found = overlap_tokens(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(found) - REPEATED_PHRASE_WORDS + 1):
        phrase = tuple(found[i : i + REPEATED_PHRASE_WORDS])
        if phrase in seen:
            return " ".join(phrase)
        seen.add(phrase)
    return None


def _fluency(text: str, names: list[str]) -> tuple[bool, list[str], dict[str, Any]]:
    """Judge whether `text` reads as one fluent text: grammar backend, no repeated phrase, the coherence judge.

    Args:
        text: The prediction.
        names: The proper names the text may hold (people, companies, cities), for the coherence judge.

    Returns:
        Whether it is fluent, the problems found (for the reason) and the details of each judge.
    """
    report = check_grammar(text)
    repeated = repeated_phrase(text)
    problems = []
    if not report.ok:
        problems.append("grammar error: " + "; ".join(report.details()["grammar_errors"][:3]))
    if repeated:
        problems.append(f"repeats the phrase {repeated!r}")
    coherence = not_judged("already not fluent") if problems else judge_coherence(text, names)
    if not coherence.ok:
        problems.append("incoherent: " + "; ".join(coherence.problems[:3]))
    details = {"grammatical": report.ok, **report.details(), "repeated_phrase": repeated, **coherence.details()}
    return not problems, problems, details


def _roles(text: str, reference: dict[str, Any]) -> list[RoleVerdict]:
    return judge_roles(text, reference.get("roles", []))


def _check_paraphrase(reference: dict[str, Any], text: str, mode: str, paper: dict[str, Any]) -> Score:
    source = reference["source"]
    missing = _missing(overlap_tokens(text), reference.get("entities", []))
    roles = _roles(text, reference)
    wrong_roles = [verdict.describe() for verdict in roles if verdict.verdict != KEPT]
    fluent, problems, fluency_details = _fluency(text, reference.get("names", []))
    overlap = bleu(text, source)
    meaning = similarity(text, source)
    value = round((1.0 - overlap) * meaning.value * (1.0 if fluent else 0.0), 6)
    details = {
        "mode": mode, "missing_entities": missing, "roles": [verdict.describe() for verdict in roles],
        "roles_ok": not wrong_roles, "bleu": round(overlap, 6), "similarity": meaning.value,
        "similarity_method": meaning.method, "similarity_version": meaning.version, "fluent": fluent,
        **fluency_details, "threshold": PARAPHRASE_PASS, "metrics_against": "source", **paper,
    }
    if value >= PARAPHRASE_PASS and not missing and not wrong_roles:
        return Score(value, True, "ok", details)
    if missing:
        reason = "lost from the source: " + ", ".join(missing)
    elif wrong_roles:
        reason = "roles not as in the source: " + "; ".join(wrong_roles)
    elif not fluent:
        reason = "; ".join(problems)
    elif overlap > 0.5:
        reason = f"too close to the source (BLEU {overlap:.2f})"
    else:
        reason = f"meaning drifts from the source (similarity {meaning.value:.2f})"
    return Score(value, False, f"{reason}; score {value:.2f}", details)


def _check_summary(reference: dict[str, Any], text: str, mode: str, paper: dict[str, Any]) -> Score:
    found = overlap_tokens(text)
    missing_people, missing_facts = _missing(found, reference["people"]), _missing(found, reference["facts"])
    roles = _roles(text, reference)
    # A summary may state a role with a pronoun ("Ben will lend her his camera"), so only a fact stated the wrong
    # way round (or both ways) fails; a paraphrase must state each one.
    wrong_roles = [verdict.describe() for verdict in roles if verdict.verdict in (SWAPPED, AMBIGUOUS)]
    # The dialogue's speakers are names too, also where the reference lists no people (rows imported from the release).
    speakers = _SPEAKER.findall(reference["dialogue"])
    fluent, fluency_problems, fluency_details = _fluency(text, [*reference["people"], *speakers])
    overlap = paper["rougeL"]
    value = round(overlap * (1.0 if fluent else 0.0), 6)
    facts_ok = not missing_people and not missing_facts
    details = {
        "mode": mode, "facts_ok": facts_ok, "missing_people": missing_people, "missing_facts": missing_facts,
        "roles": [verdict.describe() for verdict in roles], "roles_ok": not wrong_roles, "fluent": fluent,
        **fluency_details, "threshold": SUMMARY_PASS, "metrics_against": "summary",
        "bleu": round(bleu(text, reference["summary"]), 6), **paper,
    }
    problems = []
    if missing_people:
        problems.append("people missing: " + ", ".join(missing_people))
    if missing_facts:
        problems.append("facts missing: " + ", ".join(missing_facts))
    if wrong_roles:
        problems.append("roles not as in the dialogue: " + "; ".join(wrong_roles))
    if not fluent:
        problems.extend(fluency_problems)
    elif value < SUMMARY_PASS:
        problems.append(f"ROUGE-L {overlap:.2f} < {SUMMARY_PASS}")
    return Score(value, not problems, "; ".join(problems) or "ok", details)


def check(reference: dict[str, Any], prediction: str, strict: bool = False) -> Score:
    """Score a paraphrase (reference has ``source``, ``entities``, ``names``, ``roles``) or a summary (``dialogue``, ``people``, ``facts``, ``roles``, ``summary``).

    Args:
        reference: The row's reference (``roles`` and ``names`` may be absent: none is checked or known).
        prediction: The model's output.
        strict: Take the text exactly as written.

    Returns:
        A `Score` whose value is our metric in [0, 1] (exactly 0 for a prediction that is not prose) and whose
        ``correct`` is the threshold decision with the facts, roles and fluency checks. Its details also hold the
        original release's metrics (`parallelbench.scoring.paper_metrics`).
    """
    mode = "strict" if strict else "lenient"
    raw = as_text(prediction)
    against = reference["source"] if "source" in reference else reference["summary"]
    paper = paper_metrics(raw, against)
    text = _text_of(raw, strict)
    if prose_words(text) < MIN_WORDS:
        return Score(0.0, False, f"not prose: fewer than {MIN_WORDS} words of English letters", {"mode": mode, **paper})
    if "source" in reference:
        return _check_paraphrase(reference, text, mode, paper)
    return _check_summary(reference, text, mode, paper)
