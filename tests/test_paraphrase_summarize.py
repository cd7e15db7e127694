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
    assert verdict.details["metric"] == 0.0 and not verdict.correct and verdict.details["bleu"] == 1.0


def test_good_paraphrase_passes_and_names_its_methods():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold 12 laptops to Maria Lopez.")
    assert verdict.correct and verdict.value == 1.0, verdict.reason
    assert 0.3 <= verdict.details["metric"] < 1.0
    assert verdict.details["similarity_method"] in (similarity.MODEL_METHOD, similarity.FALLBACK_METHOD)
    assert verdict.details["grammar_backend"] == "harper"


def test_paraphrase_that_drops_an_entity_fails():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold some laptops to Maria Lopez.")
    assert not verdict.correct and verdict.details["missing_entities"] == ["12"]


def test_ungrammatical_paraphrase_scores_zero():
    verdict = pb.score(PARAPHRASE_ROW, "On Monday in Denver, Smith LLC sold sold 12 laptops to to Maria Lopez.")
    assert verdict.details["metric"] == 0.0 and not verdict.details["grammatical"]


# --- summary score ----------------------------------------------------------------------------------------------

def test_reworded_summary_with_all_facts_passes():
    verdict = pb.score(SUMMARY_ROW, "Ben and Ann are meeting at the cafe on Friday at 5 pm.")
    assert verdict.correct, verdict.reason and verdict.details["facts_ok"]


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


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_scores_are_reproducible_and_bounded(text):
    for row in (PARAPHRASE_ROW, SUMMARY_ROW):
        first, second = pb.score(row, text), pb.score(row, text)
        assert first == second and first.value in (0.0, 1.0) and 0.0 <= first.details.get("metric", 0.0) <= 1.0


def test_pass_thresholds_are_documented_values():
    assert 0.0 < val.PARAPHRASE_PASS < 1.0 and 0.0 < val.SUMMARY_PASS < 1.0
