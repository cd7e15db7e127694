"""words_to_sentence: word choice by tier, the gold sentences, and the three-part validator."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

import parallelbench as pb
from parallelbench.generators import words_to_sentence as gen
from parallelbench.validators import words_to_sentence as val

TASK = "words_to_sentence/easy"


def _row(words, forms=None, task=TASK):
    reference = {"words": words} if forms is None else {"words": words, "forms": forms}
    return {"task": task, "reference": json.dumps(reference)}


BALL_ROW = _row(["ball", "throw", "park", "dog"])


def test_every_tier_and_word_count_is_registered():
    names = set(pb.tasks())
    for tier in gen.TIERS:
        assert f"words_to_sentence/{tier}" in names
        for n in (1, 3, 4, 5, 6, 7):
            assert f"words_to_sentence/{tier}_n{n}" in names
    assert pb.generate("words_to_sentence/hard", n=1)[0]["metadata"].count('"word"') == 4


# --- the held-out vectors of the issue -------------------------------------------------------------------------

def test_clean_sentence_with_every_word_passes():
    verdict = pb.score(BALL_ROW, "The boy threw a ball to his dog in the park.")
    assert verdict.correct and verdict.value == 1.0, verdict.reason


def test_inflected_forms_count():
    assert pb.score(_row(["throw"]), "She threw the stick.").correct
    assert pb.score(_row(["dog"]), "Two dogs slept.").correct
    assert pb.score(_row(["child"]), "The children laughed.").correct


def test_missing_one_word_fails():
    verdict = pb.score(BALL_ROW, "The boy threw a ball to his dog.")
    assert not verdict.correct and verdict.details["missing_words"] == ["park"]


def test_balloon_is_not_ball():
    verdict = pb.score(BALL_ROW, "The boy threw a balloon to his dog in the park.")
    assert not verdict.correct and verdict.details["missing_words"] == ["ball"]


def test_two_sentences_fail():
    verdict = pb.score(BALL_ROW, "The boy threw a ball. His dog ran across the park.")
    assert not verdict.correct and verdict.details["sentences"] == 2 and verdict.details["all_words_used"]


def test_repeated_word_fails_on_grammar():
    verdict = pb.score(BALL_ROW, "The the boy threw a ball to his dog in the park.")
    assert not verdict.correct and not verdict.details["grammatical"] and verdict.details["one_sentence"]


def test_agreement_error_fails():
    verdict = pb.score(_row(["dog"]), "He have a dog.")
    assert not verdict.correct and not verdict.details["grammatical"]


def test_details_report_each_part_and_the_backend():
    details = pb.score(BALL_ROW, "The boy threw a ball to his dog in the park.").details
    assert details["words_used"] == {"ball": True, "throw": True, "park": True, "dog": True}
    assert details["one_sentence"] and details["grammatical"]
    assert details["grammar_backend"] == "harper" and details["grammar_version"]


# --- word matching and sentence counting ------------------------------------------------------------------------

@pytest.mark.parametrize("word, pos, form", [
    ("throw", "verb", "threw"), ("throw", "verb", "thrown"), ("bake", "verb", "baking"), ("stop", "verb", "stopped"),
    ("cry", "verb", "cried"), ("knife", "noun", "knives"), ("box", "noun", "boxes"), ("happy", "adjective", "happier"),
    ("big", "adjective", "biggest"), ("dream", "verb", "dreamt"), ("dream", "verb", "dreamed"),
    ("withdraw", "verb", "withdrew"), ("fisherman", "noun", "fishermen"), ("hypothesis", "noun", "hypotheses"),
    ("oasis", "noun", "oases"), ("leave", "verb", "left"), ("build", "verb", "building"), ("cafe", "noun", "cafes"),
    ("child", "noun", "children"), ("leaf", "noun", "leaves"),
])
def test_inflections_include(word, pos, form):
    assert form in val.inflections(word, pos)


@pytest.mark.parametrize("word, pos, form", [
    # derived words that are other words, and forms made by rule that are other words
    ("cafe", "noun", "caves"), ("live", "verb", "liver"), ("live", "adjective", "liver"), ("flat", "adjective", "flatter"),
    ("clean", "adjective", "cleaner"), ("warm", "adjective", "warmer"), ("stay", "verb", "staid"), ("stay", "verb", "staves"),
    ("see", "verb", "seed"), ("bank", "noun", "banker"), ("farm", None, "farmer"), ("ball", None, "balloon"),
    # invented forms
    ("amazing", "adjective", "amazinger"), ("listen", "verb", "listenned"), ("child", "noun", "childs"),
    ("withdraw", "verb", "withdrawed"), ("fisherman", "noun", "fishermans"), ("braces", "noun", "braceses"),
    ("rapids", "noun", "rapidses"), ("bored", "adjective", "boreder"),
])
def test_inflections_exclude_other_words_and_invented_forms(word, pos, form):
    assert form not in val.inflections(word, pos)


def test_no_lexicon_word_gets_a_form_outside_the_dictionary():
    """Every stored form lemmatizes back to its word; where the dictionary knows it in that part of speech, as it."""
    import lemminflect

    for words in gen.lexicon().values():
        for w in words:
            upos = val.UPOS[w.pos]
            for form in val.inflections(w.word, w.pos)[1:]:
                assert w.word in lemminflect.getLemma(form, upos), (w.word, form)
                known = lemminflect.getAllLemmas(form)
                assert upos not in known or w.word in known[upos], (w.word, form, known)


@pytest.mark.parametrize("required, pos, sentence", [
    ("withdraw", "verb", "She withdrew the money from her account."),
    ("fisherman", "noun", "Two fishermen sat on the dock."),
    ("hypothesis", "noun", "The scientists tested both hypotheses."),
    ("oasis", "noun", "The travelers rested at the oases."),
    ("shave", "verb", "His face was freshly shaven."),  # known to lemminflect only from the lemma side
    ("cafe", "noun", "We visited two cafes downtown."),
    ("flat", "adjective", "The road was flat."),
])
def test_real_inflections_score_as_used(required, pos, sentence):
    row = _row([required], {required: val.inflections(required, pos)})
    row["reference"] = json.dumps({**json.loads(row["reference"]), "pos": {required: pos}})
    verdict = pb.score(row, sentence)
    assert verdict.details["words_used"] == {required: True}, verdict.reason


@pytest.mark.parametrize("required, pos, sentence", [
    ("cafe", "noun", "Bats live in the caves."),
    ("live", "verb", "The doctor examined his liver."),
    ("flat", "adjective", "Do not flatter the boss."),
    ("clean", "adjective", "The cleaner arrived early."),
    ("ball", "noun", "The boy held a red balloon."),
    ("ball", "noun", "The boy held a red bal."),  # a cut token
    ("ball", "noun", "The boy held a red ballball."),  # a fused token
    ("listen", "verb", "They listenned to music."),
    ("amazing", "adjective", "The show was amazinger."),
    ("see", "verb", "The farmer planted a seed."),
    ("stay", "verb", "The staid old man sat down."),
])
def test_other_words_cut_fused_and_invented_forms_do_not_count(required, pos, sentence):
    row = _row([required], {required: val.inflections(required, pos)})
    row["reference"] = json.dumps({**json.loads(row["reference"]), "pos": {required: pos}})
    verdict = pb.score(row, sentence)
    assert verdict.details["words_used"] == {required: False} and not verdict.correct


@pytest.mark.parametrize("token, word, pos, expected", [
    ("shaven", "shave", "verb", True), ("withdrew", "withdraw", "verb", True), ("oases", "oasis", "noun", True),
    ("flatter", "flat", "adjective", False), ("caves", "cafe", "noun", False), ("liver", "live", "adjective", False),
    ("listenned", "listen", "verb", False), ("shave", "shave", "verb", False), ("balloon", "ball", "noun", False),
])
def test_lemmatizes_to_reads_the_dictionary_and_rejects_other_words(token, word, pos, expected):
    assert val.lemmatizes_to(token, word, pos) is expected


def test_rows_without_pos_or_forms_accept_noun_and_verb_forms():
    assert pb.score(_row(["paint"]), "She painted the fence.").details["words_used"] == {"paint": True}
    assert pb.score(_row(["paint"]), "The paints dried.").details["words_used"] == {"paint": True}
    assert pb.score(_row(["paint"]), "The painter left.").details["words_used"] == {"paint": False}


def test_unknown_part_of_speech_is_a_clear_error():
    with pytest.raises(ValueError, match="part of speech"):
        val.inflections("ball", "preposition")


def test_multi_word_requirement_inflects_its_last_word():
    row = _row(["parking lot"])
    assert pb.score(row, "We left the car in one of the parking lots.").correct
    assert not pb.score(row, "We parked the car near the lot.").correct


@pytest.mark.parametrize("text, count", [
    ("The boy threw a ball.", 1), ("Mr. Smith left at 5 p.m. on Monday.", 1), ("It costs 3.5 dollars.", 1),
    ("He waited... then left.", 1), ("Wow! Great.", 2), ("One line\nanother line", 2), ("", 0), ("...", 0),
    # a full stop directly followed by a capital starts a sentence
    ("The boy threw a ball.His dog ran in the park.", 2), ("Wow!Great.", 2), ("He waited...Then he left.", 2),
    ('He said "hi."Then he left.', 2), ("It rained.It poured.It stopped.", 3),
    # ... while initials, dotted capitals, abbreviations and decimals keep one sentence
    ("J. K. Rowling wrote the book.", 1), ("J.K. Rowling wrote the book.", 1), ("The U.S. Army left at 5 p.m. today.", 1),
    ("Mr.Smith paid 3.50 dollars, i.e. a lot.", 1), ("We met Dr. J. R. Smith at 10 a.m. on Monday.", 1),
    ("Visit example.com today.", 1), ("The score was 2.5 to 1.5 at halftime.", 1),
])
def test_count_sentences(text, count):
    assert val.count_sentences(text) == count


def test_fused_sentences_fail_as_two():
    verdict = pb.score(BALL_ROW, "The boy threw a ball.His dog ran in the park.")
    assert not verdict.correct and verdict.details["sentences"] == 2 and verdict.details["all_words_used"]
    assert "exactly one sentence, found 2" in verdict.reason


def test_sentence_with_initials_passes():
    row = _row(["book"], {"book": ["book", "books"]})
    verdict = pb.score(row, "J. K. Rowling wrote the book at 9 p.m. in 1997.")
    assert verdict.details["sentences"] == 1 and verdict.details["one_sentence"], verdict.reason


@pytest.mark.parametrize("padding", [" and then", ", very", " x"])
def test_too_long_answer_is_rejected_before_any_check(padding, monkeypatch):
    def no_grammar(text):
        raise AssertionError("the grammar check ran on a too-long answer")

    monkeypatch.setattr(val, "check_grammar", no_grammar)
    sentence = "The boy threw a ball to his dog in the park" + padding * 300 + "."
    verdict = pb.score(BALL_ROW, sentence)
    assert not verdict.correct and verdict.value == 0.0 and verdict.details["too_long"]
    assert verdict.reason.startswith("too long for one sentence") and verdict.details["characters"] == len(sentence)


def test_length_limit_counts_the_judged_text():
    fits = "The boy threw a ball to his dog in the park" + " and then" * 50 + "."
    assert len(fits) <= val.MAX_ANSWER_CHARS
    assert not pb.score(BALL_ROW, fits).details["too_long"]
    padded = "The boy threw a ball to his dog in the park" + " " * 5_000 + "and the dog slept."
    assert pb.score(BALL_ROW, padded).details["too_long"]
    # an error after 5,000 characters can no longer hide behind the grammar backend's prefix
    hidden = "The boy threw a ball to his dog in the park" + ", and then" * 600 + " he have a dog."
    assert pb.score(BALL_ROW, hidden).reason.startswith("too long")


def test_strict_mode_wants_final_punctuation_and_no_wrapping():
    assert pb.score(BALL_ROW, "The boy threw a ball to his dog in the park").correct
    assert not pb.score(BALL_ROW, "The boy threw a ball to his dog in the park", strict=True).correct
    assert pb.score(BALL_ROW, 'Answer: "The boy threw a ball to his dog in the park."').correct
    assert not pb.score(BALL_ROW, 'Answer: "The boy threw a ball to his dog in the park."', strict=True).correct


# --- generation -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["words_to_sentence/easy_n7", "words_to_sentence/medium_n7", "words_to_sentence/hard_n7",
                                  "words_to_sentence/easy_n1", "words_to_sentence/medium", "words_to_sentence/hard"])
def test_words_follow_the_tier_rules(task):
    for row in pb.generate(task, n=15, seed=3):
        meta = json.loads(row["metadata"])
        words = meta["words"]
        low, high = gen.ZIPF_BANDS[meta["tier"]]
        assert all(low <= w["zipf"] < high for w in words)
        assert len({w["word"] for w in words}) == len(words) == meta["n_words"]
        assert json.loads(row["reference"])["words"] == [w["word"] for w in words]
        if meta["n_words"] == 1:
            assert words[0]["word"] in {w.word for stratum in gen.single_word_strata(meta["tier"]) for w in stratum}
        elif meta["tier"] == "easy":
            assert len({w["scene"] for w in words}) == 1 and any(w["pos"] == "verb" for w in words)
        elif meta["tier"] == "medium":
            assert len({w["scene"] for w in words}) == min(2, len(words))
            assert len({w["domain"] for w in words}) == min(2, len(words))
        else:
            assert len({w["domain"] for w in words}) == len(words)


WORDS_TASKS = [name for name in pb.tasks() if name.startswith("words_to_sentence/")]


def test_no_default_test_split_repeats_a_prompt():
    """The published test split of every words_to_sentence task (its registry row count, the test seed) asks
    100 different questions; the _n1 tasks used to repeat up to 49."""
    from parallelbench.registry import get_task
    from parallelbench.splits import SPLIT_SEEDS

    assert len(WORDS_TASKS) == 21
    for task in WORDS_TASKS:
        rows = pb.generate(task, n=get_task(task).rows, seed=SPLIT_SEEDS["test"])
        prompts = [row["prompt"] for row in rows]
        assert len(rows) == get_task(task).rows and len(set(prompts)) == len(prompts), task


@pytest.mark.parametrize("tier", gen.TIERS)
def test_single_word_strata_cover_every_in_band_word_once(tier):
    strata = gen.single_word_strata(tier)
    words = [w.word for stratum in strata for w in stratum]
    in_band = {w.word for scene in gen.lexicon().values() for w in scene
               if gen.ZIPF_BANDS[tier][0] <= w.zipf < gen.ZIPF_BANDS[tier][1]}
    assert len(strata) == gen.SINGLE_WORD_STRATA and all(strata)
    assert sorted(words) == sorted(in_band) and len(words) > 2 * gen.SINGLE_WORD_STRATA


def test_single_word_rows_repeat_only_past_the_strata():
    rows = pb.generate("words_to_sentence/hard_n1", n=2 * gen.SINGLE_WORD_STRATA, seed=4)
    words = [json.loads(row["reference"])["words"][0] for row in rows]
    assert len(set(words[: gen.SINGLE_WORD_STRATA])) == gen.SINGLE_WORD_STRATA
    assert len(set(words[gen.SINGLE_WORD_STRATA :])) == gen.SINGLE_WORD_STRATA
    stratum_of = {w.word: k for k, stratum in enumerate(gen.single_word_strata("hard")) for w in stratum}
    assert all(stratum_of[word] == index % gen.SINGLE_WORD_STRATA for index, word in enumerate(words))


@pytest.mark.slow
@pytest.mark.parametrize("task", WORDS_TASKS)
def test_gold_passes_its_validator_across_100000_rows_and_3_seeds(task):
    """A sample of scripts/check_words_to_sentence_generation.py (which makes all 100,000 rows x 3 seeds): rows at
    the start, middle and end of the range; generation raises GenerationError on any gold failure."""
    for seed in (0, 1, 2):
        for start in (0, 24_990, 49_990, 74_990, 99_990):
            assert len(pb.generate(task, n=10, seed=seed, start=start)) == 10


@pytest.mark.skipif(shutil.which("link-parser") is None, reason="needs link-parser (Debian package link-grammar)")
def test_gold_sentences_parse_completely_with_link_grammar():
    """The coherence judge wants a complete Link Grammar parse; every frame shape of the gold sentence gets one."""
    sentences = sorted({row["answer"] for task in WORDS_TASKS for row in pb.generate(task, n=8, seed=21)})
    run = subprocess.run(["link-parser", "-graphics=0", "-echo=1"], input="\n".join(sentences) + "\n",
                         capture_output=True, text=True, check=True)
    unused, current = {}, None
    for line in run.stdout.splitlines():
        if line in sentences:
            current = line
        elif current is not None and "UNUSED=" in line:
            unused[current] = int(line.split("UNUSED=")[1].split()[0])
            current = None
    assert len(sentences) > 100 and {s: unused.get(s) for s in sentences if unused.get(s) != 0} == {}


def test_gold_passes_and_other_rows_gold_fails():
    rows = pb.generate("words_to_sentence/medium", n=12, seed=5)
    for row in rows:
        assert pb.score(row, row["answer"], strict=True).correct
        assert all(f'"{word}"' in row["prompt"] for word in json.loads(row["reference"])["words"])
    assert sum(pb.score(rows[i], rows[i - 1]["answer"]).correct for i in range(len(rows))) == 0


def test_generation_is_deterministic():
    assert pb.generate("words_to_sentence/hard_n5", n=5, seed=11) == pb.generate("words_to_sentence/hard_n5", n=5, seed=11)
    assert pb.generate("words_to_sentence/hard_n5", n=5, seed=11) != pb.generate("words_to_sentence/hard_n5", n=5, seed=12)


def test_lexicon_has_forty_scenes_with_every_part_of_speech():
    scenes = gen.lexicon()
    assert len(scenes) >= 40
    for words in scenes.values():
        assert {w.pos for w in words} == {"noun", "verb", "adjective"}


def _lexicon_words(*names):
    park = {w.word: w for w in gen.lexicon()["park"]}
    return [park[name] for name in names]


def test_gold_sentence_uses_each_word_once_in_base_form():
    words = _lexicon_words("ball", "throw", "green", "quiet")
    assert gen.gold_sentence(words) == "We talked about the green ball, learned to throw it, and found quiet things."


def test_gold_frame_puts_verbs_with_objects_last_and_gives_each_adjective_a_noun():
    words = _lexicon_words("kick", "walk", "quiet", "green", "run")
    assert [w.needs_object for w in words] == [True, False, False, False, False]
    assert (gen.gold_sentence(words, "They")
            == "They learned to walk, run, and kick it and found quiet things and green things.")


@pytest.mark.parametrize("field, value", [("tier", "expert"), ("n_words", 0), ("n_words", 8), ("n_shots", -1)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        gen.WordsToSentenceConfig(**{"tier": "easy", field: value})


# --- robustness -------------------------------------------------------------------------------------------------

def test_scores_are_reproducible():
    prediction = "The boy threw a balloon to his dog in the park."
    assert pb.score(BALL_ROW, prediction) == pb.score(BALL_ROW, prediction)


@pytest.mark.parametrize("prediction", ["", " ", "\ud800", "[" * 20_000, "x" * 1_000_000, "12345", None, b"\xff\xfe"])
def test_garbage_scores_zero(prediction):
    verdict = pb.score(BALL_ROW, prediction)
    assert verdict.value == 0.0 and not verdict.correct


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_a_verdict(text):
    verdict = pb.score(BALL_ROW, text)
    assert verdict.value in (0.0, 1.0) and isinstance(verdict.reason, str)
