"""The grammar backends: the default Harper backend against the fixture, our repeated-word rule, backend errors."""

from __future__ import annotations

import json
from pathlib import Path

import harper
import pytest

from parallelbench.scoring import grammar
from parallelbench.scoring.harper_rules import UNCOUNTED_RULES

FIXTURE = Path(__file__).parent / "data" / "grammar_fixture.jsonl"
#: The default backend's measured agreement on the fixture is 65/74 (docs/text_tasks.md); this floor catches a
#: rule-selection change or a Harper upgrade that makes it clearly worse.
MIN_AGREEMENT = 0.85


def _fixture() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_fixture_is_large_and_balanced():
    rows = _fixture()
    assert len(rows) >= 60
    assert sum(row["grammatical"] for row in rows) >= 30
    assert sum(not row["grammatical"] for row in rows) >= 30


def test_default_backend_flags_no_clean_fixture_sentence():
    flagged = [row["text"] for row in _fixture() if row["grammatical"] and not grammar.check_grammar(row["text"]).ok]
    assert flagged == []


def test_default_backend_agrees_with_the_fixture():
    rows = _fixture()
    agree = sum(grammar.check_grammar(row["text"]).ok == row["grammatical"] for row in rows)
    assert agree / len(rows) >= MIN_AGREEMENT


@pytest.mark.parametrize("text", [
    "He have a dog.", "The the dog barked.", "I saw a a bird.", "The dog dog barked.", "She bought a apple.",
    "I goed home.", "They was late.",
])
def test_typical_parallel_decoding_failures_are_errors(text):
    assert not grammar.check_grammar(text).ok


def test_repeated_word_rule_is_case_insensitive_and_whole_word():
    assert [e.text for e in grammar.repeated_words("The the cake cake.")] == ["The the", "cake cake"]
    assert grammar.repeated_words("The theme is the thesis.") == []


def test_report_names_backend_and_version():
    details = grammar.check_grammar("He have a dog.").details()
    assert details["grammar_backend"] == "harper"
    assert details["grammar_version"].startswith("harper-py ")
    assert any("Agreement" in error for error in details["grammar_errors"])


def test_style_and_spelling_findings_do_not_count():
    assert grammar.check_grammar("Ths is a very good idea.").ok  # a misspelling and a style suggestion


def test_uncounted_rules_are_harper_rules_and_exclude_the_counted_ones():
    rules = harper.Linter().get_default_lint_config()
    assert UNCOUNTED_RULES <= set(rules)  # a Harper upgrade that renames rules must regenerate the list
    assert not UNCOUNTED_RULES & grammar.HARPER_COUNTED_RULES
    assert {"RepeatedWords", "AnA", "PronounVerbAgreement", "RegularIrregulars"}.isdisjoint(UNCOUNTED_RULES)


def _perturbed(sentences: list[str]) -> list[str]:
    """Typical parallel-decoding damage to clean sentences: a doubled, dropped or swapped word, a wrong verb form."""
    out = []
    for i, sentence in enumerate(sentences):
        words = sentence.split()
        k = i % (len(words) - 1)
        out += [
            " ".join(words[: k + 1] + words[k:]),
            " ".join(words[:k] + words[k + 1 :]),
            " ".join(words[:k] + [words[k + 1], words[k]] + words[k + 2 :]),
            " ".join({"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "a": "an", "an": "a"}
                     .get(word, word) for word in words),
        ]
    return out


def test_switching_off_uncounted_rules_changes_no_verdict():
    """The backend's verdicts equal those of Harper running every default rule, counted the same way."""
    everything = harper.Linter(harper.Dialect.AMERICAN)
    texts = [row["text"] for row in _fixture()]
    texts += _perturbed([row["text"] for row in _fixture() if row["grammatical"]])
    for text in texts:
        lints = everything.organized_lints(text, language="plaintext", dedup=False)
        flagged = any(lint.lint_kind in grammar.HARPER_COUNTED_KINDS or rule in grammar.HARPER_COUNTED_RULES
                      for rule, found in lints.items() for lint in found)
        errors = [error for error in grammar.get_backend().check(text).errors if error.rule.startswith("harper:")]
        assert flagged == bool(errors), text


def test_same_text_same_report():
    text = "The farmer fed fed the goats."
    assert grammar.get_backend().check(text) == grammar.get_backend().check(text) == grammar.check_grammar(text)


@pytest.mark.parametrize("text", ["", "\ud800", "[" * 20_000, "x" * 1_000_000, "12345", "\x00\x01 the the"])
def test_garbage_never_raises(text):
    assert isinstance(grammar.get_backend().check(text), grammar.GrammarReport)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown grammar backend"):
        grammar.get_backend("nope")


def test_environment_picks_the_default_backend(monkeypatch):
    monkeypatch.setenv(grammar.BACKEND_ENV, "languagetool")
    assert grammar.backend_name() == "languagetool"
    assert grammar.backend_name("harper") == "harper"


def test_languagetool_without_server_or_install_says_what_to_do(monkeypatch, tmp_path):
    pytest.importorskip("language_tool_python")
    monkeypatch.delenv(grammar.LANGUAGETOOL_URL_ENV, raising=False)
    monkeypatch.setenv("LTP_PATH", str(tmp_path))  # an empty LanguageTool folder: nothing installed
    with pytest.raises(grammar.GrammarBackendUnavailable, match=grammar.LANGUAGETOOL_URL_ENV):
        grammar.LanguageToolBackend()
