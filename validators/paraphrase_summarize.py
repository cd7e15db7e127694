"""Scores for paraphrase and summarization: overlap, similarity and grammar, plus an exact facts check.

Paraphrase (as in the paper): ``score = (1 - BLEU(prediction, source)) x similarity(prediction, source) x grammar``,
where grammar is 1 when the grammar backend finds no counted error and 0 otherwise. A copy of the source scores 0;
a fluent rewording that keeps the meaning scores high. Correct means ``score >= PARAPHRASE_PASS`` and every entity of
the source (the reference's ``entities``: people, company, city, day, month, number) kept as whole words.

Summarization: ``score = ROUGE-L(prediction, reference summary) x grammar``. Beside it, an exact facts check: the
summary names every person of the dialogue and every key fact (the place, item or day of the plan), as whole words,
ignoring case. Correct means the facts check holds and ``score >= SUMMARY_PASS``.

The Score's value is 1.0 when correct and 0.0 otherwise (the contract every task keeps: a gold answer scores 1.0);
the paper's continuous score is ``details["metric"]``, to average where the paper does. Every part is in the
details, with the grammar backend and the similarity method (``minilm`` or
``lexical-fallback``) and their versions. Lenient mode forgives an "Answer:" prefix, a code fence and wrapping quotes.
"""

from __future__ import annotations

from typing import Any

from ..schema import Score
from ..scoring.grammar import check_grammar
from ..scoring.overlap import bleu, overlap_tokens, rouge_l
from ..scoring.similarity import similarity
from .parsing import as_text, unwrap
from .words_to_sentence import uses

#: A paraphrase is correct when its score reaches this: e.g. BLEU 0.5 and similarity 0.6 give exactly 0.3.
PARAPHRASE_PASS = 0.3
#: A summary is correct when its facts check holds and its score reaches this.
SUMMARY_PASS = 0.3

_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019"


def _text_of(prediction: object, strict: bool) -> str:
    text = as_text(prediction).strip()
    if strict:
        return text
    text = unwrap(text)
    if len(text) >= 2 and text[0] in _WRAPPING_QUOTES and text[-1] in _WRAPPING_QUOTES:
        text = text[1:-1].strip()
    return text


def _missing(found: list[str], names: list[str]) -> list[str]:
    """Return the names (people, places, facts) that do not occur in the tokens `found` as whole words."""
    return [name for name in names if not uses(found, [" ".join(overlap_tokens(name))])]


def _check_paraphrase(reference: dict[str, Any], text: str, mode: str) -> Score:
    source = reference["source"]
    missing = _missing(overlap_tokens(text), reference.get("entities", []))
    overlap = bleu(text, source)
    meaning = similarity(text, source)
    report = check_grammar(text)
    value = round((1.0 - overlap) * meaning.value * (1.0 if report.ok else 0.0), 6)
    details = {
        "mode": mode, "metric": value, "missing_entities": missing, "bleu": round(overlap, 6), "similarity": meaning.value, "similarity_method": meaning.method,
        "similarity_version": meaning.version, "grammatical": report.ok, **report.details(), "threshold": PARAPHRASE_PASS,
    }
    if value >= PARAPHRASE_PASS and not missing:
        return Score(1.0, True, "ok", details)
    if missing:
        reason = "lost from the source: " + ", ".join(missing)
    elif not report.ok:
        reason = "grammar error: " + "; ".join(details["grammar_errors"][:3])
    elif overlap > 0.5:
        reason = f"too close to the source (BLEU {overlap:.2f})"
    else:
        reason = f"meaning drifts from the source (similarity {meaning.value:.2f})"
    return Score(0.0, False, f"{reason}; metric {value:.2f}", details)


def _check_summary(reference: dict[str, Any], text: str, mode: str) -> Score:
    found = overlap_tokens(text)
    missing_people, missing_facts = _missing(found, reference["people"]), _missing(found, reference["facts"])
    overlap = rouge_l(text, reference["summary"])
    report = check_grammar(text)
    value = round(overlap * (1.0 if report.ok else 0.0), 6)
    facts_ok = not missing_people and not missing_facts
    details = {
        "mode": mode, "metric": value, "rouge_l": round(overlap, 6), "facts_ok": facts_ok, "missing_people": missing_people,
        "missing_facts": missing_facts, "grammatical": report.ok, **report.details(), "threshold": SUMMARY_PASS,
    }
    problems = []
    if missing_people:
        problems.append("people missing: " + ", ".join(missing_people))
    if missing_facts:
        problems.append("facts missing: " + ", ".join(missing_facts))
    if not report.ok:
        problems.append("grammar error: " + "; ".join(details["grammar_errors"][:3]))
    elif value < SUMMARY_PASS:
        problems.append(f"ROUGE-L {overlap:.2f} < {SUMMARY_PASS}")
    return Score(0.0 if problems else 1.0, not problems, "; ".join(problems) or "ok", details)


def check(reference: dict[str, Any], prediction: str, strict: bool = False) -> Score:
    """Score a paraphrase (reference has ``source``, ``entities``) or a summary (``dialogue``, ``people``, ``facts``, ``summary``).

    Args:
        reference: The row's reference.
        prediction: The model's output.
        strict: Take the text exactly as written.

    Returns:
        A `Score`: 1.0 when correct, else 0.0; the paper's metric in ``details["metric"]``.
    """
    mode = "strict" if strict else "lenient"
    text = _text_of(prediction, strict)
    if not overlap_tokens(text):
        return Score(0.0, False, "empty prediction", {"mode": mode})
    if "source" in reference:
        return _check_paraphrase(reference, text, mode)
    return _check_summary(reference, text, mode)
