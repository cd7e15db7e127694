"""paraphrase_summarize: seeded sources, gold answers, the paper's scores, and the overlap/similarity metrics."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

import parallelbench as pb
from parallelbench.generators import paraphrase_summarize as gen
from parallelbench.scoring import overlap, similarity
from parallelbench.validators import paraphrase_summarize as val

PARAPHRASE_ROW = {"task": "paraphrase_summarize/paraphrase", "reference": json.dumps({
    "source": "Maria Lopez bought 12 laptops from Smith LLC in Denver on Monday.",
    "entities": ["Maria Lopez", "12", "Smith LLC", "Denver", "Monday"]})}
SUMMARY_ROW = {"task": "paraphrase_summarize/summarize", "reference": json.dumps({
    "dialogue": "Ann: Free on Friday? Let's meet at the cafe.\nBen: Sure, 5 pm?\nAnn: Great, see you at the cafe on Friday!",
    "people": ["Ann", "Ben"], "facts": ["cafe", "Friday"], "summary": "Ann and Ben will meet at the cafe on Friday at 5 pm."})}


def test_original_release_names_are_aliases():
    assert pb.generate("paraphrase_summarize/chatgpt-paraphrases", n=2) == pb.generate("paraphrase_summarize/paraphrase", n=2)
    assert pb.generate("paraphrase_summarize/samsum", n=2) == pb.generate("paraphrase_summarize/summarize", n=2)


@pytest.mark.parametrize("task", ["paraphrase_summarize/paraphrase", "paraphrase_summarize/summarize"])
def test_gold_passes_other_rows_gold_fails_and_generation_is_deterministic(task):
    rows = pb.generate(task, n=30, seed=4)
    assert rows == pb.generate(task, n=30, seed=4)
    for row in rows:
        assert pb.score(row, row["answer"], strict=True).correct
    assert not any(pb.score(rows[i], rows[i - 1]["answer"]).correct for i in range(len(rows)))


def test_reference_names_its_constraints():
    paraphrase = json.loads(pb.generate("paraphrase_summarize/paraphrase", n=1)[0]["reference"])
    summary = json.loads(pb.generate("paraphrase_summarize/summarize", n=1)[0]["reference"])
    assert {"source", "entities"} <= set(paraphrase)
    assert {"dialogue", "people", "facts", "summary"} <= set(summary)
    assert all(name in summary["dialogue"] for name in summary["people"])


def test_prompt_shows_the_source_or_the_dialogue():
    for task, key in (("paraphrase_summarize/paraphrase", "source"), ("paraphrase_summarize/summarize", "dialogue")):
        row = pb.generate(task, n=1, seed=9)[0]
        assert json.loads(row["reference"])[key] in row["prompt"]


def test_summaries_have_two_to_four_people():
    counts = {json.loads(r["metadata"])["n_people"] for r in pb.generate("paraphrase_summarize/summarize", n=40)}
    assert counts == {2, 3, 4}


# --- paraphrase score -------------------------------------------------------------------------------------------

def test_copy_of_the_source_scores_zero():
    verdict = pb.score(PARAPHRASE_ROW, "Maria Lopez bought 12 laptops from Smith LLC in Denver on Monday.")
    assert verdict.value == 0.0 and not verdict.correct and verdict.details["bleu"] == 1.0


def test_good_paraphrase_passes_with_the_papers_graded_score_and_names_its_methods():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold 12 laptops to Maria Lopez.")
    assert verdict.correct, verdict.reason
    assert val.PARAPHRASE_PASS <= verdict.value < 1.0
    assert verdict.details["similarity_method"] in (similarity.MODEL_METHOD, similarity.FALLBACK_METHOD)
    assert verdict.details["grammar_backend"] == "harper"


def test_paraphrase_that_drops_an_entity_fails_but_keeps_its_graded_score():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold some laptops to Maria Lopez.")
    assert not verdict.correct and verdict.details["missing_entities"] == ["12"]
    assert verdict.value > 0.0  # the paper's metric has no entity check; the verdict adds it


def test_ungrammatical_paraphrase_scores_zero():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold sold 12 laptops to to Maria Lopez.")
    assert verdict.value == 0.0 and not verdict.correct and not verdict.details["grammatical"]


@pytest.mark.parametrize("text", [
    "Maria Lopez bought laptops in Denver.", "Smith LLC sold 12 laptops to Maria Lopez on Monday in Denver.",
    "On Monday, Maria Lopez purchased twelve laptops.", "Denver laptops Monday.",
])
def test_paraphrase_value_is_the_papers_product(text):
    verdict = pb.score(PARAPHRASE_ROW, text)
    d = verdict.details
    assert verdict.value == pytest.approx((1 - d["bleu"]) * d["similarity"] * d["grammatical"], abs=1e-5)
    assert verdict.correct == (verdict.value >= val.PARAPHRASE_PASS and not d["missing_entities"])


# --- summary score ----------------------------------------------------------------------------------------------

def test_reworded_summary_with_all_facts_passes_with_its_rouge_l():
    verdict = pb.score(SUMMARY_ROW, "Ben and Ann are meeting at the cafe on Friday at 5 pm.")
    assert verdict.correct and verdict.details["facts_ok"], verdict.reason
    assert verdict.value == verdict.details["rouge_l"] and val.SUMMARY_PASS <= verdict.value < 1.0


def test_copied_reference_summary_scores_one():
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will meet at the cafe on Friday at 5 pm.")
    assert verdict.correct and verdict.value == 1.0


def test_ungrammatical_summary_scores_zero():
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will will meet at the cafe on Friday at 5 pm.")
    assert verdict.value == 0.0 and not verdict.correct and verdict.details["rouge_l"] > 0.9


def test_summary_missing_a_person_or_fact_fails():
    verdict = pb.score(SUMMARY_ROW, "Ann will meet a friend at the cafe on Friday at 5 pm.")
    assert not verdict.correct and verdict.details["missing_people"] == ["Ben"]
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will meet at the cafe at 5 pm.")
    assert not verdict.correct and verdict.details["missing_facts"] == ["Friday"]


def test_summary_names_are_whole_words():
    verdict = pb.score(SUMMARY_ROW, "Annie and Benjamin will meet at the cafe on Friday at 5 pm.")
    assert verdict.details["missing_people"] == ["Ann", "Ben"]


# --- metrics ----------------------------------------------------------------------------------------------------

def test_rouge_l_is_the_lcs_f1():
    assert overlap.rouge_l("a b c d", "a c d e") == pytest.approx(0.75)  # LCS "a c d": P = R = 3/4
    assert overlap.rouge_l("x", "a b") == 0.0 and overlap.rouge_l("", "a") == 0.0


def test_bleu_bounds():
    assert overlap.bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert overlap.bleu("completely different words here", "the cat sat on the mat") < 0.05
    assert overlap.bleu("", "x") == 0.0


def test_lexical_fallback_is_labelled(monkeypatch):
    monkeypatch.setattr(similarity, "_model", lambda: None)
    similarity.similarity.cache_clear()
    try:
        result = similarity.similarity("the red ball", "a red ball")
        assert result.method == similarity.FALLBACK_METHOD and 0.0 < result.value < 1.0
    finally:
        similarity.similarity.cache_clear()


@pytest.mark.parametrize("field, value", [("kind", "translate"), ("n_people", 1), ("n_people", (3, 5))])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        gen.TextTaskConfig(**{"kind": "summarize", field: value})


# --- robustness -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", [PARAPHRASE_ROW, SUMMARY_ROW])
@pytest.mark.parametrize("prediction", ["", "\ud800", "[" * 20_000, "x " * 500_000, "12345", None])
def test_garbage_never_raises(row, prediction):
    verdict = pb.score(row, prediction)
    assert not verdict.correct and 0.0 <= verdict.value <= 1.0


@pytest.mark.parametrize("row", [PARAPHRASE_ROW, SUMMARY_ROW])
@pytest.mark.parametrize("prediction", [
    "null", '{"a": 1}', "Ann Ben", "\ud800 lone surrogate", "x" * 1_000_000, "12 34 56 78", "Friday?!", "\u00e9t\u00e9 \u00e0",
])
@pytest.mark.parametrize("strict", [True, False])
def test_text_that_is_not_prose_scores_exactly_zero(row, prediction, strict):
    verdict = pb.score(row, prediction, strict=strict)
    assert verdict.value == 0.0 and not verdict.correct and verdict.reason.startswith("not prose")


def test_prose_words_counts_runs_of_english_letters_up_to_the_minimum():
    assert val.prose_words("Ann and Ben meet.") == val.MIN_WORDS
    assert val.prose_words("a 1 b 2") == 2
    assert val.prose_words("x" * 46 + " one two") == 2  # longer than any English word
    assert val.prose_words("x" * 45 + " one two") == 3


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_scores_are_reproducible_and_bounded(text):
    for row in (PARAPHRASE_ROW, SUMMARY_ROW):
        first, second = pb.score(row, text), pb.score(row, text)
        assert first == second and 0.0 <= first.value <= 1.0
        if val.prose_words(text) < val.MIN_WORDS:
            assert first.value == 0.0 and not first.correct


def test_pass_thresholds_are_documented_values():
    assert 0.0 < val.PARAPHRASE_PASS < 1.0 and 0.0 < val.SUMMARY_PASS < 1.0
