"""The coherence judge (Link Grammar + word checks) on sentences a person labelled, and on each failure kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parallelbench.scoring import coherence
from parallelbench.scoring.coherence import CoherenceJudgeUnavailable, judge_coherence, split_sentences
from parallelbench.scoring.grammar import check_grammar

FIXTURE = Path(__file__).parent / "data" / "coherence_sentences.jsonl"
CASES = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def _fluent(text: str, known: tuple[str, ...] = ()) -> bool:
    """The text-quality verdict the validators use: the coherence judge and the grammar backend both agree."""
    return judge_coherence(text, known).ok and check_grammar(text).ok


def test_fixture_holds_both_kinds() -> None:
    assert sum(case["coherent"] for case in CASES) == 30
    assert sum(not case["coherent"] for case in CASES) == 30


@pytest.mark.parametrize("case", [c for c in CASES if c["coherent"]], ids=lambda c: c["text"][:40])
def test_grammatical_sentences_pass(case: dict) -> None:
    report = judge_coherence(case["text"])
    assert report.ok, report.problems
    assert check_grammar(case["text"]).ok


@pytest.mark.parametrize("case", [c for c in CASES if not c["coherent"]], ids=lambda c: f"{c['kind']}: {c['text'][:40]}")
def test_incoherent_sentences_fail(case: dict) -> None:
    assert not _fluent(case["text"])


@pytest.mark.parametrize(("text", "problem"), [
    ("ball, throw, park, dog.", "a list of words"),
    ("Kite, bench, sunny, jog.", "a list of words"),
    ("Dog park the throw ball a the boy to.", "no complete parse"),
    ("The seed was planted in the soil and it to grow a", "no complete parse"),
    ("We will meet at the cafe on.", "no complete parse"),
    ("The pilot announced that the plane would.", "truncated"),
    ("The small baby sleeps peacefully in its cute cr.", "not a word: 'cr'"),
    ("The croissantissantissant was delicious.", "not a word (a fused repeat): 'croissantissantissant'"),
    ("She swam across the Lakelake before noon.", "not a word (a fused repeat): 'Lakelake'"),
    ("The glorpy walrus slept.", "not a word: 'glorpy'"),
    ("He tied the rope to the river-phonyphony post.", "not a word (a fused repeat): 'river-phonyphony'"),
    ("My dad worked all day at work, work, and more work.", "repeated words: 'work'"),
    ("What can I do to stay calm and content??", "repeated punctuation: '??'"),
    ("Here is a story about a dragon, a knight, and a castle,", "ends with ',': truncated"),
    ("Virat flew to Mumbai.", "not a word or a known name: 'Virat'"),
    ("Blorfs are sitting on the bench.", "not a word or a known name: 'Blorfs'"),
    ("We played in the park in the park yesterday.", "repeated words: 'in the park'"),
    ("The students excited field trip announced teacher.", "no verb"),
    ("A quiet morning in the small village.", "no complete parse"),
])
def test_each_failure_kind_is_named(text: str, problem: str) -> None:
    report = judge_coherence(text)
    assert not report.ok
    assert any(problem in line for line in report.problems), report.problems


@pytest.mark.parametrize("text", [
    "Justin Hammond bought 12 laptops from Okafor LLC in Denver on Monday.",
    "On Monday, Okafor LLC sold 12 laptops to Justin Hammond in Denver.",
    "Mr. Lee, who runs the bakery, opened at 7 a.m. and sold 150 rolls.",
    "Because it was snowing, the well-known author stayed home and wrote 3,000 words.",
    "Zofia and Bartholomew moved their dinner from Tuesday to Friday at 8 pm.",
    "Professional wrestling played a big role in the growth of cable television.",
    "Martin Martin had had enough of the noise, so he said that that was the end of it.",
    "Last week, Virat, who works for PayPal, flew to Mumbai with his old-fashioned suitcase...",
])
def test_names_numbers_commas_and_clauses_pass(text: str) -> None:
    report = judge_coherence(text, known_words=("Okafor LLC", "Justin Hammond", "Zofia", "Bartholomew", "Martin Martin"))
    assert report.ok, report.problems


def test_known_words_admit_names_the_dictionary_lacks() -> None:
    text = "Zxavier bought a kite."
    assert not judge_coherence(text).ok
    assert judge_coherence(text, known_words=["Zxavier Quill"]).ok


def test_every_sentence_is_judged() -> None:
    report = judge_coherence("The dog chased the ball. Ball throw park dog boy.")
    assert report.problems == ("no complete parse: 'Ball throw park dog boy.'",)
    assert judge_coherence("The dog chased the ball. Then it slept under the bench.").ok


def test_details_name_the_judge_and_its_versions() -> None:
    details = judge_coherence("The dog chased the ball.").details()
    assert details["coherent"] is True and details["coherence_problems"] == []
    assert details["coherence_judge"].startswith("link-grammar link-grammar-5.")
    assert "dictionary" in details["coherence_judge"] and "lemminflect" in details["coherence_judge"]


def test_text_without_a_sentence_is_not_coherent() -> None:
    assert judge_coherence("...").problems == ("no sentence",)


@pytest.mark.parametrize(("text", "sentences"), [
    ("The boy threw a ball.His dog ran in the park.", ["The boy threw a ball.", "His dog ran in the park."]),
    ("Mr. Smith met J. K. Rowling at 3.5 p.m. today.", ["Mr. Smith met J. K. Rowling at 3.5 p.m. today."]),
    ("He waited... then left! Did you see?", ["He waited... then left!", "Did you see?"]),
    ("First line\nsecond line", ["First line", "second line"]),
    ("Yes.\u201cNo,\u201d she said.", ["Yes.", "\u201cNo,\u201d she said."]),
])
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_missing_library_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(coherence.LIBRARY_ENV, "/nonexistent/liblink-grammar.so.5")
    coherence._parser.cache_clear()
    try:
        with pytest.raises(CoherenceJudgeUnavailable, match="apt-get install liblink-grammar5"):
            judge_coherence("The dog chased the ball.")
    finally:
        coherence._parser.cache_clear()
