"""Word-constraint sentences: write one coherent sentence that uses every given word.

The words come from an authored lexicon of everyday scenes (generators/data/words_to_sentence_lexicon.json: each
scene has a domain, nouns, verbs and adjectives, each word with its Zipf frequency from `wordfreq`, stored by
scripts/lexicon_zipf.py so that generation needs no wordfreq). The tier sets how hard the words are to combine:

- easy: common words (Zipf >= 4.5) from one scene, at least one of them a verb (every such set of words equally
  likely);
- medium: mid-frequency words (3.8 <= Zipf < 4.5) from two scenes of different domains, split as evenly as possible;
- hard: rarer words (2.5 <= Zipf < 3.8), each from a scene of a different domain (unrelated scenes).

A single word (the ``_n1`` tasks) is any in-band word of the tier, of any scene and part of speech; row ``i`` draws it
from stratum ``i % 100`` of the tier's words (`single_word_strata`), so the 100 rows of a test split ask for 100
different words.

Every row carries a gold sentence from `gold_sentence`: a fixed frame that is grammatical by construction and uses
each word in its base form; the core checks it with the validator (grammar included) at generation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from math import comb
from typing import Any

from .. import rng as rnd
from ..rng import RowRandom
from ..registry import Instance, TaskSpec
from ..validators import words_to_sentence as validator

TIERS: tuple[str, ...] = ("easy", "medium", "hard")
#: Tier -> the inclusive-exclusive Zipf range of its words.
ZIPF_BANDS: dict[str, tuple[float, float]] = {"easy": (4.5, 99.0), "medium": (3.8, 4.5), "hard": (2.5, 3.8)}
MAX_WORDS = 7
#: How many strata the single-word tasks (n = 1) cut each tier's words into: the test split's row count, so that
#: the 100 test rows of a ``_n1`` task ask for 100 different words.
SINGLE_WORD_STRATA = 100
LEXICON_FILE = "words_to_sentence_lexicon.json"
_POS_OF_PART = {"nouns": "noun", "verbs": "verb", "adjectives": "adjective"}
_SUBJECTS = ("We", "They", "My friends", "Our neighbors", "The visitors")
#: The generator version of every words_to_sentence task (`TaskSpec.version`); bump it whenever the same seed would
#: give other rows. 3: the reference gains ``pos`` and ``forms`` come from lemminflect; the gold frame says "learned
#: to <verb> [it]"; single words come from strata; easy word sets are equally likely; three nouns left the lexicon.
GENERATOR_VERSION = "3"


@dataclass(frozen=True)
class Word:
    """One lexicon entry: the word, its part of speech, its scene and domain, and its Zipf frequency.

    ``needs_object`` marks a verb that the gold frame must give an object ("learned to fix it"; see
    scripts/lexicon_link_grammar.py).
    """

    word: str
    pos: str
    scene: str
    domain: str
    zipf: float
    needs_object: bool = False


@dataclass(frozen=True)
class WordsToSentenceConfig:
    """Parameters of one words-to-sentence task.

    Attributes:
        tier: ``easy``, ``medium`` or ``hard`` (see the module docstring).
        n_words: How many required words (1 to 7).
        n_shots: How many one-shot example turns (each with other words and a gold sentence, from the task's
            example pool; see `parallelbench.rows`) come first.
    """

    tier: str
    n_words: int = 4
    n_shots: int = 0

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}; got {self.tier!r}")
        if not isinstance(self.n_words, int) or isinstance(self.n_words, bool) or not 1 <= self.n_words <= MAX_WORDS:
            raise ValueError(f"n_words must be an int from 1 to {MAX_WORDS}; got {self.n_words!r}")
        if not isinstance(self.n_shots, int) or isinstance(self.n_shots, bool) or not 0 <= self.n_shots <= 4:
            raise ValueError(f"n_shots must be an int from 0 to 4; got {self.n_shots!r}")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, tuple[Word, ...]]:
    """Return the lexicon as scene name -> its words (each word once per scene, first part of speech wins)."""
    data = json.loads(files("parallelbench.generators").joinpath("data", LEXICON_FILE).read_text(encoding="utf-8"))
    needing_object = set(data["verbs_needing_object"])
    scenes = {}
    for scene in data["scenes"]:
        words: dict[str, Word] = {}
        for part, pos in _POS_OF_PART.items():
            for word, zipf in scene[part].items():
                needs_object = pos == "verb" and word in needing_object
                words.setdefault(word, Word(word, pos, scene["name"], scene["domain"], zipf, needs_object))
        scenes[scene["name"]] = tuple(words.values())
    return scenes


def _in_band(words: tuple[Word, ...], tier: str, taken: set[str] = frozenset()) -> list[Word]:
    low, high = ZIPF_BANDS[tier]
    return [w for w in words if low <= w.zipf < high and w.word not in taken]


@lru_cache(maxsize=None)
def _easy_scenes(n: int) -> rnd.WeightedSampler:
    """The scenes that can give `n` easy words with a verb, weighted by how many such word sets each gives."""
    names, weights = [], []
    for name, words in lexicon().items():
        pool = _in_band(words, "easy")
        without_verb = sum(w.pos != "verb" for w in pool)
        if comb(len(pool), n) > comb(without_verb, n):
            names.append(name)
            weights.append(comb(len(pool), n) - comb(without_verb, n))
    return rnd.WeightedSampler(names, weights)


def _draw_easy(rng: RowRandom, n: int) -> list[Word]:
    # Every set of n easy words of one scene with a verb is equally likely: the scene is drawn by its number of such
    # sets, then sets are drawn until one has a verb (a uniform scene choice would repeat the few sets of the
    # scenes with only n easy words).
    pool = _in_band(lexicon()[_easy_scenes(n).draw(rng)], "easy")
    while True:
        chosen = rnd.sample(rng, pool, n)
        if any(w.pos == "verb" for w in chosen):
            return chosen


@lru_cache(maxsize=None)
def single_word_strata(tier: str) -> tuple[tuple[Word, ...], ...]:
    """Every distinct in-band word of `tier` (any scene, any part of speech), cut into `SINGLE_WORD_STRATA` strata.

    The words are in alphabetical order (a word listed by several scenes counts once, as its first entry) and
    stratum ``k`` holds the ``k``-th of `SINGLE_WORD_STRATA` nearly equal runs of them.
    """
    first: dict[str, Word] = {}
    for words in lexicon().values():
        for w in _in_band(words, tier):
            first.setdefault(w.word, w)
    pool = [first[word] for word in sorted(first)]
    count = SINGLE_WORD_STRATA
    return tuple(tuple(pool[k * len(pool) // count : (k + 1) * len(pool) // count]) for k in range(count))


def _draw_single(rng: RowRandom, tier: str, index: int) -> list[Word]:
    # Row i draws from stratum i mod SINGLE_WORD_STRATA: any SINGLE_WORD_STRATA consecutive rows from a multiple of
    # it (the whole test split) never repeat a word; independent draws from ~300 words repeat about 15 in 100 rows.
    return [rnd.choice(rng, single_word_strata(tier)[index % SINGLE_WORD_STRATA])]


def _draw_medium(rng: RowRandom, n: int) -> list[Word]:
    first_count = (n + 1) // 2
    scenes = lexicon()
    firsts = [name for name, words in scenes.items() if len(_in_band(words, "medium")) >= first_count]
    first = rnd.choice(rng, firsts)
    chosen = rnd.sample(rng, _in_band(scenes[first], "medium"), first_count)
    taken = {w.word for w in chosen}
    domain = scenes[first][0].domain
    seconds = [name for name, words in scenes.items()
               if words[0].domain != domain and len(_in_band(words, "medium", taken)) >= n - first_count]
    second = rnd.choice(rng, seconds)
    chosen += rnd.sample(rng, _in_band(scenes[second], "medium", taken), n - first_count)
    return rnd.shuffled(rng, chosen)


def _draw_hard(rng: RowRandom, n: int) -> list[Word]:
    scenes = lexicon()
    domains = sorted({words[0].domain for words in scenes.values()})
    chosen: list[Word] = []
    for domain in rnd.sample(rng, domains, n):
        taken = {w.word for w in chosen}
        candidates = [name for name, words in scenes.items()
                      if words[0].domain == domain and _in_band(words, "hard", taken)]
        chosen.append(rnd.choice(rng, _in_band(scenes[rnd.choice(rng, candidates)], "hard", taken)))
    return chosen


def draw_words(rng: RowRandom, tier: str, n: int, index: int = 0) -> list[Word]:
    """Draw `n` distinct required words for `tier`, in prompt order.

    Args:
        rng: The row's RNG.
        tier: ``easy``, ``medium`` or ``hard``.
        n: How many words.
        index: The row's index; a single word (n = 1) comes from stratum ``index % SINGLE_WORD_STRATA`` of
            `single_word_strata`.

    Returns:
        The words with their part of speech, scene, domain and Zipf frequency.
    """
    if n == 1:
        return _draw_single(rng, tier, index)
    return {"easy": _draw_easy, "medium": _draw_medium, "hard": _draw_hard}[tier](rng, n)


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def gold_sentence(words: list[Word], subject: str = "We") -> str:
    """Return a sentence that uses every word in its base form and is grammatical by construction.

    Nouns become objects ("talked about the green ball and the bench"), each taking one adjective while they last;
    the verbs share one "to", with "it" as object where the verb needs one ("learned to swim, wait, and throw it";
    those verbs come last); each adjective left over describes "things" ("found quiet things and green things").
    The Link Grammar parser parses these sentences completely (scripts/lexicon_link_grammar.py checks each lexicon
    word in its frame and stores which verbs need the object).

    Args:
        words: The required words with their parts of speech.
        subject: The sentence's subject (a plural pronoun or noun phrase).

    Returns:
        One sentence ending with a full stop.
    """
    nouns = [w.word for w in words if w.pos == "noun"]
    # One "to" for all verbs, and those with an object last: Link Grammar fails "learned to fix it and to wash" and
    # "learned to check, to wait, and to board", but parses "learned to wash and fix it", "to check, wait, and board".
    verbs = [w.word for w in words if w.pos == "verb" and not w.needs_object]
    verbs += [f"{w.word} it" for w in words if w.pos == "verb" and w.needs_object]
    adjectives = [w.word for w in words if w.pos == "adjective"]
    objects = [f"the {adjectives[i]} {noun}" if i < len(adjectives) else f"the {noun}" for i, noun in enumerate(nouns)]
    predicates = []
    if objects:
        predicates.append(f"talked about {_join(objects)}")
    if verbs:
        predicates.append(f"learned to {_join(verbs)}")
    if adjectives[len(nouns):]:
        # One noun phrase each: Link Grammar fails "found everything quiet and frozen" and "found everything
        # beautiful and everything modern" but parses "found beautiful things and modern things".
        predicates.append(f"found {_join([f'{adjective} things' for adjective in adjectives[len(nouns):]])}")
    if len(predicates) == 3:
        return f"{subject} {predicates[0]}, {predicates[1]}, and {predicates[2]}."
    return f"{subject} {' and '.join(predicates)}."


def render_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of a row from its stored reference (the required words)."""
    listed = ", ".join(f'"{word}"' for word in reference["words"])
    noun = "word" if len(reference["words"]) == 1 else "words"
    return (
        f"Write one coherent sentence that uses the following {noun}: {listed}.\n"
        "You may change the form of a word (\"throw\" -> \"threw\", \"dog\" -> \"dogs\"), but use the word itself, "
        "not a longer word that contains it. The sentence must be grammatical. Answer with the sentence only."
    )


def _make_case(config: WordsToSentenceConfig, rng: RowRandom, index: int) -> tuple[dict[str, Any], str, list[Word]]:
    words = draw_words(rng, config.tier, config.n_words, index)
    reference = {
        "words": [w.word for w in words],
        "pos": {w.word: w.pos for w in words},
        "forms": {w.word: validator.inflections(w.word, w.pos) for w in words},
    }
    return reference, gold_sentence(words, rnd.choice(rng, _SUBJECTS)), words


def generate(config: WordsToSentenceConfig, rng: RowRandom, index: int) -> Instance:
    """Generate row `index` of a words-to-sentence task (see `parallelbench.registry.Generator`)."""
    reference, gold, words = _make_case(config, rng, index)
    return Instance(
        prompt=render_prompt(reference),
        answer=gold,
        reference=reference,
        output_format="[MASK]",
        n_answers=None,
        metadata={
            "tier": config.tier,
            "n_words": config.n_words,
            "words": [{"word": w.word, "pos": w.pos, "scene": w.scene, "domain": w.domain, "zipf": w.zipf}
                      for w in words],
        },
    )


def _spec(tier: str, n_words: int, name: str) -> TaskSpec:
    return TaskSpec(
        name=f"words_to_sentence/{name}",
        config_class=WordsToSentenceConfig,
        defaults={"tier": tier, "n_words": n_words},
        generate=generate,
        check=validator.check,
        version=GENERATOR_VERSION,
    )


TASKS: tuple[TaskSpec, ...] = (
    *(_spec(tier, 4, tier) for tier in TIERS),
    *(_spec(tier, n, f"{tier}_n{n}") for tier in TIERS for n in (1, 3, 4, 5, 6, 7)),
)
