"""Checks for the word-constraint sentence tasks: every required word used, exactly one sentence, grammatical.

The three parts are reported separately in the details and the verdict needs all of them:

- Words: each required word must appear as a whole word, itself or one of its inflections (``threw`` for ``throw``,
  ``dogs`` for ``dog``); a longer word that merely contains it does not count (``balloon`` is not ``ball``, which
  the original release's substring test accepted). Matching ignores case; letters are split at any non-letter, so
  ``dog's`` contains ``dog`` and ``ice-cream`` matches ``ice cream``. A multi-word requirement (``parking lot``) must
  appear as consecutive words with only its last word inflected (``parking lots``).
- One sentence: exactly one sentence (a ``.``, ``!`` or ``?`` followed by more text starts another; so does a line
  break between two pieces of text). Common abbreviations (``Mr.``, ``p.m.``) do not end a sentence.
- Grammar: no counted error from the grammar backend (`parallelbench.scoring.grammar`).

A row's reference holds ``words`` (in prompt order) and ``forms`` (the accepted forms of each word, made by
`inflections` at generation, where the part of speech is known); without ``forms`` the noun and verb forms are used.
Lenient mode forgives an "Answer:" prefix, a code fence, wrapping quotes and a missing final full stop; strict mode
takes the text as it is and wants it to end with ``.``, ``!`` or ``?``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..schema import Score
from ..scoring.grammar import check_grammar
from .parsing import as_text, unwrap

#: The past forms of irregular verbs (past tense, participle, and a regular form where one is also in use);
#: for "be", "have", "do" every form.
IRREGULAR_VERBS: dict[str, tuple[str, ...]] = {
    "be": ("am", "is", "are", "was", "were", "been", "being"), "have": ("has", "had", "having"),
    "do": ("does", "did", "done", "doing"), "go": ("goes", "went", "gone"),
    "arise": ("arose", "arisen"), "bear": ("bore", "borne", "born"), "beat": ("beat", "beaten"),
    "become": ("became",), "begin": ("began", "begun"), "bend": ("bent",), "bite": ("bit", "bitten"),
    "bleed": ("bled",), "blow": ("blew", "blown"), "break": ("broke", "broken"), "breed": ("bred",),
    "bring": ("brought",), "build": ("built",), "burn": ("burnt", "burned"), "buy": ("bought",), "catch": ("caught",),
    "choose": ("chose", "chosen"), "cling": ("clung",), "come": ("came",), "cost": ("cost",), "creep": ("crept",),
    "cut": ("cut",), "deal": ("dealt",), "dig": ("dug",), "dive": ("dove", "dived"), "draw": ("drew", "drawn"),
    "dream": ("dreamt", "dreamed"), "drink": ("drank", "drunk"), "drive": ("drove", "driven"), "eat": ("ate", "eaten"),
    "fall": ("fell", "fallen"), "feed": ("fed",), "feel": ("felt",), "fight": ("fought",), "find": ("found",),
    "flee": ("fled",), "fling": ("flung",), "fly": ("flew", "flown"), "forget": ("forgot", "forgotten"),
    "forgive": ("forgave", "forgiven"), "freeze": ("froze", "frozen"), "get": ("got", "gotten"),
    "give": ("gave", "given"), "grind": ("ground",), "grow": ("grew", "grown"), "hang": ("hung", "hanged"),
    "hear": ("heard",), "hide": ("hid", "hidden"), "hit": ("hit",), "hold": ("held",), "hurt": ("hurt",),
    "keep": ("kept",), "kneel": ("knelt", "kneeled"), "know": ("knew", "known"), "lay": ("laid",), "lead": ("led",),
    "lean": ("leant", "leaned"), "leap": ("leapt", "leaped"), "learn": ("learnt", "learned"), "leave": ("left",), "lend": ("lent",),
    "let": ("let",), "lie": ("lay", "lain", "lied"), "light": ("lit", "lighted"), "lose": ("lost",), "make": ("made",),
    "mean": ("meant",), "meet": ("met",), "mow": ("mowed", "mown"), "pay": ("paid",), "put": ("put",), "quit": ("quit",),
    "read": ("read",), "ride": ("rode", "ridden"), "ring": ("rang", "rung"), "rise": ("rose", "risen"),
    "run": ("ran",), "say": ("said",), "see": ("saw", "seen"), "seek": ("sought",), "sell": ("sold",),
    "send": ("sent",), "set": ("set",), "sew": ("sewed", "sewn"), "shake": ("shook", "shaken"), "shave": ("shaved", "shaven"),
    "shine": ("shone",), "shoot": ("shot",), "show": ("showed", "shown"), "shrink": ("shrank", "shrunk"), "shut": ("shut",),
    "sing": ("sang", "sung"), "sink": ("sank", "sunk"), "sit": ("sat",), "sleep": ("slept",), "slide": ("slid",),
    "smell": ("smelt", "smelled"), "speak": ("spoke", "spoken"), "spell": ("spelt", "spelled"), "spend": ("spent",), "spill": ("spilt", "spilled"),
    "spin": ("spun",), "spit": ("spat",), "split": ("split",), "spread": ("spread",), "spring": ("sprang", "sprung"),
    "stand": ("stood",), "steal": ("stole", "stolen"), "stick": ("stuck",), "sting": ("stung",),
    "stink": ("stank", "stunk"), "stride": ("strode", "stridden"), "strike": ("struck",), "string": ("strung",),
    "swear": ("swore", "sworn"), "sweat": ("sweat", "sweated"), "sweep": ("swept",), "swell": ("swelled", "swollen"), "swim": ("swam", "swum"),
    "swing": ("swung",), "take": ("took", "taken"), "teach": ("taught",), "tear": ("tore", "torn"),
    "tell": ("told",), "think": ("thought",), "throw": ("threw", "thrown"), "tread": ("trod", "trodden"),
    "wake": ("woke", "woken", "waked"), "wear": ("wore", "worn"), "weave": ("wove", "woven"), "weep": ("wept",),
    "win": ("won",), "wind": ("wound",), "wring": ("wrung",), "write": ("wrote", "written"),
}
#: Irregular plurals of the nouns a lexicon may hold.
IRREGULAR_NOUNS: dict[str, tuple[str, ...]] = {
    "child": ("children",), "person": ("people",), "man": ("men",), "woman": ("women",), "mouse": ("mice",),
    "goose": ("geese",), "tooth": ("teeth",), "foot": ("feet",), "ox": ("oxen",), "cactus": ("cacti",),
    "fungus": ("fungi",), "die": ("dice",),
}
#: Part-of-speech names a reference or lexicon may use.
PARTS_OF_SPEECH = ("noun", "verb", "adjective")

_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs", "etc", "e.g", "i.e", "a.m", "p.m", "approx", "no",
})
_BOUNDARY = re.compile(r"(?:[.!?]+|\u2026)[\"'\u201d\u2019)\]]*\s+(?=\S)|\s*\n\s*(?=\S)")
_LETTERS = re.compile(r"[^\W\d_]+")
_VOWELS = "aeiou"
_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019"


def tokens(text: str) -> list[str]:
    """Return the words of `text`: maximal runs of letters, NFKC-normalized and casefolded."""
    return _LETTERS.findall(unicodedata.normalize("NFKC", text).casefold())


def _ends_short_stressed(word: str) -> bool:
    """Whether a final consonant may double before -ed/-ing/-er ("stop" -> "stopped"): consonant-vowel-consonant."""
    return (len(word) >= 3 and word[-1] not in _VOWELS + "wxy" and word[-2] in _VOWELS and word[-3] not in _VOWELS)


def _s_form(word: str) -> set[str]:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    if word.endswith("y") and len(word) > 1 and word[-2] not in _VOWELS:
        return {word[:-1] + "ies"}
    if word.endswith("o"):
        return {word + "s", word + "es"}
    if word.endswith("fe"):
        return {word + "s", word[:-2] + "ves"}
    if word.endswith("f"):
        return {word + "s", word[:-1] + "ves"}
    return {word + "s"}


def _suffixed(word: str, suffix: str) -> set[str]:
    """Add a vowel-initial suffix (-ed, -ing, -er, -est) with the usual spelling changes, doubled and not."""
    if word.endswith("ie") and suffix == "ing":
        return {word[:-2] + "ying"}
    if word.endswith("e"):
        if suffix == "ing":
            return {word + suffix} if word.endswith(("ee", "oe", "ye")) else {word[:-1] + suffix}
        return {word + suffix[1:]}
    if word.endswith("y") and len(word) > 1 and word[-2] not in _VOWELS and suffix != "ing":
        return {word[:-1] + "i" + suffix}
    forms = {word + suffix}
    if _ends_short_stressed(word):
        forms.add(word + word[-1] + suffix)
    return forms


def inflections(word: str, pos: str | None = None) -> list[str]:
    """Return the accepted forms of a required word: itself and its inflections, lowercase and sorted.

    Args:
        word: The required word in its base form (one or more words; only the last one is inflected).
        pos: ``noun`` (plural), ``verb`` (-s, -ed, -ing and irregular forms) or ``adjective`` (-er, -est);
            None gives the noun and verb forms.

    Returns:
        The forms, the word itself first.
    """
    base = " ".join(tokens(word))
    *head, last = base.split(" ") if base else [""]
    forms: set[str] = set()
    if pos in (None, "noun"):
        forms |= _s_form(last) | set(IRREGULAR_NOUNS.get(last, ()))
    if pos in (None, "verb"):
        # An irregular verb takes only its listed past forms: a regular -ed form may be another word ("seed").
        past = set(IRREGULAR_VERBS[last]) if last in IRREGULAR_VERBS else _suffixed(last, "ed")
        forms |= _s_form(last) | _suffixed(last, "ing") | past
    if pos == "adjective":
        forms |= _suffixed(last, "er") | _suffixed(last, "est")
    prefix = " ".join(head) + " " if head else ""
    return [base] + sorted(prefix + form for form in forms - {last})


def uses(words: list[str], forms: list[str]) -> bool:
    """Return whether a token list contains one of several word sequences, as consecutive whole tokens.

    Args:
        words: The tokens of a text (see `tokens`).
        forms: The accepted sequences, each a space-separated string of tokens.

    Returns:
        True when some form occurs in `words`.
    """
    for form in forms:
        wanted = form.split(" ")
        size = len(wanted)
        if any(words[i : i + size] == wanted for i in range(len(words) - size + 1) if words[i] == wanted[0]):
            return True
    return False


def count_sentences(text: str) -> int:
    """Return how many sentences `text` holds (see the module docstring for what ends a sentence)."""
    count, start = 0, 0
    for boundary in _BOUNDARY.finditer(text):
        piece = text[start : boundary.start()]
        last_word = piece.rsplit(None, 1)[-1].casefold().rstrip(".") if piece.split() else ""
        mark = boundary.group(0)
        if mark.startswith(".") and "\n" not in mark and last_word in _ABBREVIATIONS:
            continue
        if mark.startswith(("..", "\u2026")) and "\n" not in mark and text[boundary.end()].islower():
            continue  # "He waited... then left." goes on after the ellipsis
        if _LETTERS.search(piece) or any(ch.isdigit() for ch in piece):
            count += 1
        start = boundary.end()
    tail = text[start:]
    return count + (1 if _LETTERS.search(tail) or any(ch.isdigit() for ch in tail) else 0)


def _sentence_of(prediction: object, strict: bool) -> tuple[str, bool]:
    """Return (the sentence to judge, whether the text was only the sentence: no prefix, fence or wrapping quotes)."""
    raw = as_text(prediction).strip()
    text = unwrap(raw)
    if len(text) >= 2 and text[0] in _WRAPPING_QUOTES and text[-1] in _WRAPPING_QUOTES:
        text = text[1:-1].strip()
    bare = len(text) == len(raw)  # unwrapping only removes characters (smart quotes map one to one)
    return (raw if strict else text), bare


def check(reference: dict[str, Any], prediction: str, strict: bool = False) -> Score:
    """Decide whether `prediction` is one grammatical sentence using every required word.

    Args:
        reference: The row's reference: ``words`` and, optionally, ``forms`` (word -> accepted forms).
        prediction: The model's output.
        strict: Take the text exactly as written and require final punctuation.

    Returns:
        A `Score` of 1.0 when all three parts hold, else 0.0; details hold each part separately.
    """
    mode = "strict" if strict else "lenient"
    sentence, bare = _sentence_of(prediction, strict)
    words = list(reference["words"])
    forms = reference.get("forms") or {}
    found = tokens(sentence)
    used = {word: uses(found, forms.get(word) or inflections(word)) for word in words}
    missing = [word for word in words if not used[word]]
    sentences = count_sentences(sentence)
    formatted = not strict or (bare and sentence.rstrip(_WRAPPING_QUOTES + ")").endswith((".", "!", "?")))
    one_sentence = sentences == 1 and formatted
    report = check_grammar(sentence)
    details = {
        "mode": mode, "words_used": used, "missing_words": missing, "all_words_used": not missing,
        "sentences": sentences, "one_sentence": one_sentence, "grammatical": report.ok, **report.details(),
    }
    if not sentence.strip():
        return Score(0.0, False, "empty prediction", details)
    problems = []
    if missing:
        problems.append("missing required word" + ("s: " if len(missing) > 1 else ": ") + ", ".join(missing))
    if not one_sentence:
        problems.append(f"expected exactly one sentence, found {sentences}" if sentences != 1
                        else "strict: expected the sentence alone, ending with '.', '!' or '?'")
    if not report.ok:
        problems.append("grammar error: " + "; ".join(details["grammar_errors"][:3]))
    if problems:
        return Score(0.0, False, "; ".join(problems), details)
    return Score(1.0, True, "ok", details)
