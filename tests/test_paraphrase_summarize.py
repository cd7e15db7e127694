"""paraphrase_summarize: seeded sources, gold answers, the paper's scores, and the overlap/similarity metrics."""

from __future__ import annotations

import importlib.util
import json
import random

import pytest
from hypothesis import given, settings, strategies as st

import parallelbench as pb
from parallelbench.generators import paraphrase_summarize as gen
from parallelbench.scoring import overlap, paper_metrics, similarity
from parallelbench.validators import paraphrase_summarize as val
from parallelbench.validators import roles

PARAPHRASE_ROW = {"task": "paraphrase_summarize/paraphrase", "reference": json.dumps({
    "source": "Maria Lopez bought 12 laptops from Smith LLC in Denver on Monday.",
    "entities": ["Maria Lopez", "12", "Smith LLC", "Denver", "Monday"], "names": ["Maria Lopez", "Smith LLC", "Denver"],
    "roles": [["Smith LLC", "sell", "Maria Lopez"]]})}
#: A frame with no two-role fact: only the coherence judge can reject its word-shuffled source.
DELAY_ROW = {"task": "paraphrase_summarize/paraphrase", "reference": json.dumps({
    "source": "Because the train from Denver was delayed, Maria Lopez arrived at the meeting 12 minutes late.",
    "entities": ["Denver", "Maria Lopez", "12"], "names": ["Denver", "Maria Lopez"], "roles": []})}
SUMMARY_ROW = {"task": "paraphrase_summarize/summarize", "reference": json.dumps({
    "dialogue": "Ann: Free on Friday? Let's meet at the cafe.\nBen: Sure, 5 pm?\nAnn: Great, see you at the cafe on Friday!",
    "people": ["Ann", "Ben"], "facts": ["cafe", "Friday"], "roles": [],
    "summary": "Ann and Ben will meet at the cafe on Friday at 5 pm."})}
LEND_ROW = {"task": "paraphrase_summarize/summarize", "reference": json.dumps({
    "dialogue": "Ann: Hi Ben, could I borrow your camera until Friday?\nBen: Sure, you can have the camera until Friday.",
    "people": ["Ann", "Ben"], "facts": ["camera", "Friday"], "roles": [["Ben", "lend", "Ann"]],
    "summary": "Ben will lend Ann the camera until Friday."})}
MOVE_ROW = {"task": "paraphrase_summarize/summarize", "reference": json.dumps({
    "dialogue": "Ann: Sorry Ben, I cannot make our dinner on Monday. Can we move it to Friday?\nBen: No problem, Friday at 6 pm is fine.",
    "people": ["Ann", "Ben"], "facts": ["dinner", "Friday"], "roles": [["Monday", "move_to", "Friday"]],
    "summary": "Ann and Ben moved their dinner from Monday to Friday at 6 pm."})}


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
    assert {"source", "entities", "names", "roles"} <= set(paraphrase)
    assert set(paraphrase["names"]) <= set(paraphrase["entities"])
    assert {"dialogue", "people", "facts", "roles", "summary"} <= set(summary)
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
    assert verdict.value == pytest.approx((1 - d["bleu"]) * d["similarity"] * d["fluent"], abs=1e-5)
    assert verdict.correct == (verdict.value >= val.PARAPHRASE_PASS and not d["missing_entities"] and d["roles_ok"])


# --- summary score ----------------------------------------------------------------------------------------------

def test_reworded_summary_with_all_facts_passes_with_its_rouge_l():
    verdict = pb.score(SUMMARY_ROW, "Ben and Ann are meeting at the cafe on Friday at 5 pm.")
    assert verdict.correct and verdict.details["facts_ok"], verdict.reason
    assert verdict.value == verdict.details["rougeL"] and val.SUMMARY_PASS <= verdict.value < 1.0


def test_copied_reference_summary_scores_one():
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will meet at the cafe on Friday at 5 pm.")
    assert verdict.correct and verdict.value == 1.0


def test_ungrammatical_summary_scores_zero():
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will will meet at the cafe on Friday at 5 pm.")
    assert verdict.value == 0.0 and not verdict.correct and verdict.details["rougeL"] > 0.9


def test_summary_missing_a_person_or_fact_fails():
    verdict = pb.score(SUMMARY_ROW, "Ann will meet a friend at the cafe on Friday at 5 pm.")
    assert not verdict.correct and verdict.details["missing_people"] == ["Ben"]
    verdict = pb.score(SUMMARY_ROW, "Ann and Ben will meet at the cafe at 5 pm.")
    assert not verdict.correct and verdict.details["missing_facts"] == ["Friday"]


def test_summary_names_are_whole_words():
    verdict = pb.score(SUMMARY_ROW, "Annie and Benjamin will meet at the cafe on Friday at 5 pm.")
    assert verdict.details["missing_people"] == ["Ann", "Ben"]


# --- metrics ----------------------------------------------------------------------------------------------------



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


# --- roles: who did what to whom ----------------------------------------------------------------------------------

def _exchanged(text: str, first: str, second: str) -> str:
    """Return `text` with every `first` and `second` exchanged."""
    return text.replace(first, "\0").replace(second, first).replace("\0", second)


def _rows_with_roles(task: str, n: int = 60, seed: int = 3) -> list[tuple[dict, dict]]:
    rows = pb.generate(task, n=n, seed=seed)
    return [(row, ref) for row in rows if (ref := json.loads(row["reference"]))["roles"]]


def test_every_frame_with_two_roles_stores_them_and_every_relation_is_known():
    frames = {json.loads(r["metadata"])["frame"] for r, _ in _rows_with_roles("paraphrase_summarize/paraphrase", 200)}
    assert frames == {i for i, frame in enumerate(gen.FRAMES) if frame.roles}
    assert all(relation in roles.RELATIONS for frame in gen.FRAMES for _, relation, _ in frame.roles)


@pytest.mark.parametrize("task", ["paraphrase_summarize/paraphrase", "paraphrase_summarize/summarize"])
def test_gold_keeps_every_role_and_the_gold_with_roles_exchanged_fails(task):
    pairs = _rows_with_roles(task)
    assert len(pairs) >= 10
    for row, ref in pairs:
        for agent, relation, patient in ref["roles"]:
            assert roles.judge_fact(row["answer"], (agent, relation, patient)).verdict == roles.KEPT, row["answer"]
            swapped = _exchanged(row["answer"], agent, patient)
            assert roles.judge_fact(swapped, (agent, relation, patient)).verdict == roles.SWAPPED, swapped
            verdict = pb.score(row, swapped)
            assert not verdict.correct and not verdict.details["roles_ok"], (swapped, verdict.reason)


def test_paraphrase_source_with_roles_exchanged_fails():
    for row, ref in _rows_with_roles("paraphrase_summarize/paraphrase"):
        agent, _, patient = ref["roles"][0]
        verdict = pb.score(row, _exchanged(ref["source"], agent, patient))
        assert not verdict.correct and "roles not as in the source" in verdict.reason, verdict.reason


@pytest.mark.parametrize("text", [
    "On Monday, Smith LLC sold 12 laptops to Maria Lopez in Denver.",
    "In Denver on Monday, Maria Lopez purchased 12 laptops from Smith LLC.",
    "12 laptops were sold to Maria Lopez by Smith LLC in Denver on Monday.",
])
def test_paraphrase_stating_the_roles_in_other_words_passes(text):
    verdict = pb.score(PARAPHRASE_ROW, text)
    assert verdict.correct and verdict.details["roles"] == ["Smith LLC sell Maria Lopez: kept"], verdict.reason


@pytest.mark.parametrize("text, verdict", [
    ("Smith LLC bought 12 laptops from Maria Lopez in Denver on Monday.", "swapped"),
    ("On Monday, Maria Lopez sold 12 laptops to Smith LLC in Denver.", "swapped"),
    ("12 laptops were sold to Smith LLC by Maria Lopez in Denver on Monday.", "swapped"),
    ("12 laptops were bought by Smith LLC from Maria Lopez in Denver on Monday.", "swapped"),
    ("Maria Lopez sold laptops to Smith LLC, and Smith LLC sold 12 laptops to Maria Lopez in Denver on Monday.", "ambiguous"),
    ("Maria Lopez and Smith LLC traded 12 laptops in Denver on Monday.", "unstated"),
    ("Maria Lopez 12 laptops Smith LLC Denver Monday.", "unstated"),  # an entity list
    ("Monday Denver in laptops 12 Smith LLC from bought Maria Lopez on.", "unstated"),  # the source, shuffled
])
def test_paraphrase_with_roles_swapped_or_unstated_fails(text, verdict):
    score = pb.score(PARAPHRASE_ROW, text)
    assert not score.correct and score.details["roles"] == [f"Smith LLC sell Maria Lopez: {verdict}"]
    assert "roles not as in the source" in score.reason


@pytest.mark.parametrize("text, fact, verdict", [
    ("Ben will lend Ann the camera.", ("Ben", "lend", "Ann"), "kept"),
    ("Ann will borrow Ben's camera.", ("Ben", "lend", "Ann"), "kept"),
    ("The camera was lent to Ann by Ben.", ("Ben", "lend", "Ann"), "kept"),
    ("Ann will lend Ben the camera.", ("Ben", "lend", "Ann"), "swapped"),
    ("Ben will borrow the camera from Ann.", ("Ben", "lend", "Ann"), "swapped"),
    ("The report written by Ann Lee impressed Acme Inc.", ("Ann Lee", "write_for", "Acme Inc"), "kept"),
    ("The report that Acme Inc wrote for Ann Lee was praised.", ("Ann Lee", "write_for", "Acme Inc"), "swapped"),
    ("Acme Inc has employed Ann Lee for 5 years.", ("Ann Lee", "work_for", "Acme Inc"), "kept"),
    ("Ann Lee has been employed by Acme Inc for 5 years.", ("Ann Lee", "work_for", "Acme Inc"), "kept"),
    ("Acme Inc has been employed by Ann Lee for 5 years.", ("Ann Lee", "work_for", "Acme Inc"), "swapped"),
    ("Bo Li will be driven to the airport by Ann Lee.", ("Ann Lee", "drive", "Bo Li"), "kept"),
    ("Bo Li will drive Ann Lee to the airport.", ("Ann Lee", "drive", "Bo Li"), "swapped"),
    ("Acme Inc will open an office in Denver.", ("Acme Inc", "open_in", "Denver"), "kept"),
    ("Denver will open an office in Acme Inc.", ("Acme Inc", "open_in", "Denver"), "swapped"),
    ("They moved the dinner from Monday to Friday.", ("Monday", "move_to", "Friday"), "kept"),
    ("They moved the dinner from Friday to Monday.", ("Monday", "move_to", "Friday"), "swapped"),
    ("They will have dinner together.", ("Monday", "move_to", "Friday"), "unstated"),
    # natural paraphrases a model writes: each states the roles
    ("Smith LLC was the seller of the laptops that Ann Lee bought.", ("Smith LLC", "sell", "Ann Lee"), "kept"),
    ("On Monday, Ann Lee got 12 laptops from Smith LLC.", ("Smith LLC", "sell", "Ann Lee"), "kept"),
    ("After much discussion, Ann Lee agreed to sell Smith LLC 12 laptops.", ("Ann Lee", "sell", "Smith LLC"), "kept"),
    ("Ann Lee accepted an offer from Smith LLC for 12 laptops.", ("Ann Lee", "sell", "Smith LLC"), "kept"),
    ("Smith LLC accepted an offer from Ann Lee for 12 laptops.", ("Ann Lee", "sell", "Smith LLC"), "swapped"),
    ("Ann Lee has spent 12 years at Acme Inc and now leads a team.", ("Ann Lee", "work_for", "Acme Inc"), "kept"),
    ("Having worked at Acme Inc for 12 years, Ann Lee now leads a team.", ("Ann Lee", "work_for", "Acme Inc"), "kept"),
    ("Ann Lee has been with Acme Inc for 12 years.", ("Ann Lee", "work_for", "Acme Inc"), "kept"),
    ("A new office in Denver will be opened by Acme Inc next May.", ("Acme Inc", "open_in", "Denver"), "kept"),
    ("Acme Inc will hire 12 people when it opens a new Denver office.", ("Acme Inc", "open_in", "Denver"), "kept"),
    ("Ann Lee's report for Acme Inc was praised by the board.", ("Ann Lee", "write_for", "Acme Inc"), "kept"),
    ("Weather permitting, Ann Lee will drive Bo Li to the Denver airport.", ("Ann Lee", "drive", "Bo Li"), "kept"),
])
def test_judge_fact_reads_order_verb_and_voice(text, fact, verdict):
    assert roles.judge_fact(text, fact).verdict == verdict


@pytest.mark.parametrize("fact, match", [(("a", "marry", "b"), "unknown role relation"), (("a", "sell"), "agent, relation"),
                                         (("...", "sell", "b"), "letters or digits")])
def test_bad_role_fact_names_the_problem(fact, match):
    with pytest.raises(ValueError, match=match):
        roles.judge_fact("text", fact)


@pytest.mark.parametrize("row, text", [
    (LEND_ROW, "Ann will lend Ben the camera until Friday."),
    (LEND_ROW, "Ben will borrow the camera from Ann until Friday."),
    (MOVE_ROW, "Ann and Ben moved their dinner from Friday to Monday at 6 pm."),
])
def test_summary_with_roles_swapped_fails(row, text):
    verdict = pb.score(row, text)
    assert not verdict.correct and "roles not as in the dialogue" in verdict.reason


@pytest.mark.parametrize("row, text", [
    (LEND_ROW, "Ann will borrow Ben's camera until Friday."),
    (LEND_ROW, "Ann asked Ben for his camera, and he will lend it to her until Friday."),  # pronouns: unstated
    (MOVE_ROW, "Ann and Ben rescheduled their dinner to Friday at 6 pm."),
])
def test_summary_stating_roles_in_other_words_or_with_pronouns_passes(row, text):
    verdict = pb.score(row, text)
    assert verdict.correct, verdict.reason


# --- degenerate answers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row, text", [
    (PARAPHRASE_ROW, "Maria Lopez bought 12 laptops from Smith LLC in Denver on Monday. "
                     "Maria Lopez bought 12 laptops from Smith LLC in Denver on Monday."),
    (PARAPHRASE_ROW, "On Monday, Smith LLC sold 12 laptops to Maria Lopez in Denver, sold 12 laptops to Maria Lopez."),
    (SUMMARY_ROW, "Ann and Ben will meet at the cafe on Friday at 5 pm. Ann and Ben will meet at the cafe on Friday at 5 pm."),
    (SUMMARY_ROW, "Ann and Ben will meet at the cafe on Friday at the cafe on Friday."),
])
def test_text_that_repeats_a_phrase_scores_zero(row, text):
    verdict = pb.score(row, text)
    assert verdict.value == 0.0 and not verdict.correct and verdict.details["repeated_phrase"]
    assert "repeats the phrase" in verdict.reason


@pytest.mark.parametrize("row, text", [
    (PARAPHRASE_ROW, "On Monday Monday, Smith LLC sold 12 laptops to Maria Lopez in Denver."),
    (SUMMARY_ROW, "Ann and Ben will meet at the the cafe on Friday at 5 pm."),
    (SUMMARY_ROW, "Ann and Ben Ben will meet at the cafe on Friday at 5 pm."),
])
def test_doubled_words_score_zero(row, text):
    verdict = pb.score(row, text)
    assert verdict.value == 0.0 and not verdict.correct and not verdict.details["fluent"]


def test_repeated_phrase_finds_the_first_repeat_of_four_words():
    assert val.repeated_phrase("a b c d e a b c d") == "a b c d"
    assert val.repeated_phrase("Ann and Ben will meet Ann and Ben at noon.") is None  # three words only
    assert val.repeated_phrase("") is None


def _scrambled(text: str, seed: int) -> str:
    words = text.rstrip(".").split()
    rng = random.Random(seed)
    while (shuffled := rng.sample(words, len(words))) == words:
        pass
    return " ".join(shuffled) + "."


@pytest.mark.parametrize("row, text", [
    (DELAY_ROW, "late minutes the meeting Maria Lopez because was arrived train Denver the from delayed 12 at."),
    (SUMMARY_ROW, "Ann Ben cafe Friday."),
    (SUMMARY_ROW, "the cafe Ann will meet Friday and at Ben on 5 pm at."),
    ({"task": "paraphrase_summarize/summarize", "reference": json.dumps({
        "dialogue": "Justin: Meet at the station on Wednesday?\nHannah: Yes.\nSamantha: Me too.",
        "people": ["Justin", "Hannah", "Samantha"], "facts": ["station", "Wednesday"], "roles": [],
        "summary": "Justin, Hannah and Samantha will meet at the station on Wednesday at 5 pm."})},
     "Justin Hannah Samantha station Wednesday."),
])
def test_word_orders_and_word_lists_that_only_the_judge_can_reject(row, text):
    assert not pb.score(row, text).correct


@pytest.mark.parametrize("task", ["paraphrase_summarize/paraphrase", "paraphrase_summarize/summarize"])
def test_scrambled_gold_and_scrambled_source_fail(task):
    for i, row in enumerate(pb.generate(task, n=20, seed=8)):
        ref = json.loads(row["reference"])
        texts = [_scrambled(row["answer"], i)] + ([_scrambled(ref["source"], i)] if "source" in ref else [])
        for text in texts:
            assert not pb.score(row, text).correct, text


# --- names ----------------------------------------------------------------------------------------------------------

def test_people_skips_doubled_names_and_calendar_words(monkeypatch):
    drawn = iter(["Martin Martin", "Ann Lee", "Ann Lee", "Bo May", "April Li", "Bo Li"])
    monkeypatch.setattr(gen, "draw_full_name", lambda rng: next(drawn))
    assert gen._people(None, 2) == ["Ann Lee", "Bo Li"]


@pytest.mark.parametrize("index, culprit", [(2038, "Martin Martin"), (5812, "May Ltd")])
def test_rows_whose_gold_failed_in_version_2_are_generated(index, culprit):
    # paraphrase_summarize/paraphrase seed=2 (the train split): these rows drew the culprit, and their gold failed
    # (harper:RepeatedWords and harper:ModalBeAdjective); `parallelbench build --split train=10000` crashed on them.
    row = pb.generate("paraphrase_summarize/paraphrase", n=1, seed=2, start=index)[0]
    assert pb.score(row, row["answer"], strict=True).correct and culprit not in row["prompt"]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["paraphrase_summarize/paraphrase", "paraphrase_summarize/summarize"])
def test_gold_answers_hold_across_a_sample_of_100000_rows_and_three_seeds(task):
    # Generation checks every gold against the validator and raises on a failure; scripts/check_text_golds.py
    # runs the full 100,000 rows x 3 seeds.
    rng = random.Random(task)
    for seed in (0, 1, 2):
        for start in rng.sample(range(100_000 - 20), 25):
            assert len(pb.generate(task, n=20, seed=seed, start=start)) == 20


# --- the paper's metrics --------------------------------------------------------------------------------------------

def test_13a_tokens_split_punctuation_but_keep_numbers_apostrophes_and_hyphens():
    assert overlap.tokenize_13a("It's 3.5 km, well-known! (1,000 &amp; more)") == [
        "It's", "3.5", "km", ",", "well-known", "!", "(", "1,000", "&", "more", ")"]


@pytest.mark.parametrize("hypothesis, reference, expected", [
    # 13a tokens: 7 each; clipped matches 6/7, 4/6, 2/5, 1/4; same length, so no brevity penalty
    ("The cat sat on a mat.", "The cat sat on the mat.", (6 / 7 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25),
    # case counts: "the cat" is not "The cat"; "the" is clipped to the reference's one: 6/7, 5/6, 4/5, 3/4
    ("the cat sat on the mat.", "The cat sat on the mat.", (6 / 7 * 5 / 6 * 4 / 5 * 3 / 4) ** 0.25),
    # every n-gram matches, 5 tokens against 7: brevity penalty exp(1 - 7/5)
    ("The cat sat on the", "The cat sat on the mat.", 0.6703200460356393),
    # no shared 4-gram and no smoothing: 0
    ("mat the on sat cat The .", "The cat sat on the mat.", 0.0),
    # fewer than 4 tokens has no 4-gram at all: 0 even for a copy (tensorflow/nmt's compute_bleu)
    ("The cat .", "The cat .", 0.0),
    ("", "The cat sat on the mat.", 0.0),
])
def test_paper_bleu_worked_examples(hypothesis, reference, expected):
    assert overlap.paper_bleu(hypothesis, reference) == pytest.approx(expected, abs=1e-12)


def test_corpus_bleu_sums_over_segments_and_takes_the_shortest_reference():
    # evaluate's own doctest: 1.0 (r = 3 + 3 for the shortest references, c = 4 + 3, every n-gram matched)
    hypotheses = [overlap.tokenize_13a("hello there general kenobi"), overlap.tokenize_13a("foo bar foobar")]
    references = [[overlap.tokenize_13a("hello there general kenobi"), overlap.tokenize_13a("hello there!")],
                  [overlap.tokenize_13a("foo bar foobar")]]
    assert overlap.corpus_bleu(hypotheses, references) == 1.0


def test_rouge_uses_the_porter_stemmer_like_the_paper():
    # stems: the cat are run / a cat run: unigrams 2 shared, P = 2/4, R = 2/3, F1 = 4/7; no shared bigram; LCS 2
    assert overlap.rouge("the cats are running", "a cat runs") == pytest.approx(
        {"rouge1": 4 / 7, "rouge2": 0.0, "rougeL": 4 / 7})
    assert overlap.rouge("a b c d", "a c d e")["rougeL"] == pytest.approx(0.75)  # LCS "a c d": P = R = 3/4
    assert overlap.rouge("", "a b") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


PAPER_KEYS = {"paper_bleu", "rouge1", "rouge2", "rougeL", "languagetool_zero_matches", "languagetool_matches", "languagetool"}


@pytest.mark.parametrize("row", [PARAPHRASE_ROW, SUMMARY_ROW])
@pytest.mark.parametrize("text", ["On Monday, Smith LLC sold 12 laptops to Maria Lopez in Denver.", "12345", ""])
def test_every_score_reports_the_papers_metrics(row, text, monkeypatch):
    monkeypatch.delenv("PARALLELBENCH_LANGUAGETOOL_URL", raising=False)
    details = pb.score(row, text).details
    assert PAPER_KEYS <= set(details) and details["languagetool_zero_matches"] is None
    against = json.loads(row["reference"]).get("source") or json.loads(row["reference"])["summary"]
    assert details["paper_bleu"] == round(overlap.paper_bleu(text, against), 6)
    assert details["rougeL"] == round(overlap.rouge(text, against)["rougeL"], 6)


def test_copy_of_the_source_has_paper_bleu_one():
    details = pb.score(PARAPHRASE_ROW, json.loads(PARAPHRASE_ROW["reference"])["source"]).details
    assert details["paper_bleu"] == 1.0 and details["rougeL"] == 1.0


def test_languagetool_verdict_from_a_configured_server(monkeypatch):
    pytest.importorskip("language_tool_python")
    import http.server
    import threading
    import urllib.parse

    from parallelbench.scoring import grammar

    def match(issue_type: str, offset: int, length: int) -> dict:
        return {"message": "m", "offset": offset, "length": length, "replacements": [], "sentence": "",
                "context": {"text": "", "offset": 0, "length": length},
                "rule": {"id": f"R_{issue_type.upper()}", "issueType": issue_type, "category": {"id": "C", "name": "C"}}}

    class StandIn(http.server.BaseHTTPRequestHandler):
        """A LanguageTool server stand-in: a misspelling for "colour", a grammar match for "have", else none."""

        def _reply(self, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._reply([{"name": "English (US)", "code": "en", "longCode": "en-US"}])

        def do_POST(self) -> None:  # noqa: N802
            text = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())["text"][0]
            matches = [match("misspelling", text.index("colour"), 6)] if "colour" in text else []
            matches += [match("grammar", text.index("have"), 4)] if " have " in text else []
            self._reply({"matches": matches})

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PARALLELBENCH_LANGUAGETOOL_URL", f"http://127.0.0.1:{server.server_port}")
    grammar._build.cache_clear()
    grammar._check_cached.cache_clear()
    try:
        clean = paper_metrics.languagetool_verdict("Ann and Ben will meet at the cafe.")
        spelling = paper_metrics.languagetool_verdict("Ann and Ben like the colour of the cafe.")
        both = paper_metrics.languagetool_verdict("Ann have the colour of the cafe.")
        details = pb.score(SUMMARY_ROW, "Ann and Ben will meet at the cafe on Friday at 5 pm.").details
    finally:
        server.shutdown()
        grammar._build.cache_clear()
        grammar._check_cached.cache_clear()
    assert (clean["languagetool_zero_matches"], clean["languagetool_matches"]) == (True, 0)
    assert (spelling["languagetool_zero_matches"], spelling["languagetool_matches"]) == (False, 1)  # any match counts
    assert (both["languagetool_zero_matches"], both["languagetool_matches"]) == (False, 2)
    assert "LanguageTool server at http://127.0.0.1" in clean["languagetool"]
    assert details["languagetool_zero_matches"] is True and details["grammar_backend"] == "harper"


def test_gold_check_script_lists_every_failure_and_goes_on(monkeypatch):
    path = __import__("pathlib").Path(__file__).parents[1] / "scripts" / "check_text_golds.py"
    spec = importlib.util.spec_from_file_location("check_text_golds", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    failing = {3, 7}
    calls = []

    def fake_generate(task, n, seed, start):
        calls.append((start, n))
        for index in range(start, start + n):
            if index in failing:
                raise pb.GenerationError(f"{task} seed={seed} index={index}: gold answer fails its validator (x)")
        return [{}] * n

    monkeypatch.setattr(script.pb, "generate", fake_generate)
    failures = script._check_chunk("t/x", 0, 0, 10)
    assert [message.split(":")[0] for message in failures] == ["t/x seed=0 index=3", "t/x seed=0 index=7"]
    assert calls == [(0, 10), (4, 6), (8, 2)]
