"""Checks for the word-constraint sentence tasks: every required word used, exactly one coherent, grammatical sentence.

An answer longer than `MAX_ANSWER_CHARS` (500 characters) is not the one sentence asked for: it scores 0 with that
reason before any check. Otherwise four parts are reported separately in the details and the verdict needs all
of them:

- Words: each required word must appear as a whole word, itself or one of its real inflections for its part of
  speech (``threw`` for ``throw``, ``dogs`` for ``dog``, ``fishermen`` for ``fisherman``), taken from lemminflect's
  dictionary (shipped in its wheel) in both directions: a form the dictionary lists for the word, or a token the
  dictionary lemmatizes to it (``shaven`` for ``shave``). A longer word that merely contains it does not count
  (``balloon`` is not ``ball``, which the original release's substring test accepted), and neither does a derived
  word that is another word: an adjective's -er/-est form or a second spelling counts only when no other word is
  spelled so (``flatter`` is not ``flat``, ``cleaner`` is not ``clean``), and no rule invents forms (``caves`` is not
  ``cafe``, ``liver`` is not ``live``, there is no ``amazinger``). A noun's or verb's own first spelling counts even
  when it spells another word too (``left`` for ``leave``, ``building`` for ``build``). Matching ignores case;
  letters are split at any non-letter, so ``dog's`` contains ``dog`` and ``ice-cream`` matches ``ice cream``. A
  multi-word requirement (``parking lot``) must appear as consecutive words with only its last word inflected
  (``parking lots``).
- One sentence: exactly one sentence, as `parallelbench.scoring.coherence.split_sentences` splits them. A ``.``,
  ``!`` or ``?`` followed by a space and more text starts another, and so does one followed directly by a capital
  letter (``ball.His``) or a line break between two pieces of text. Common abbreviations (``Mr.``, ``p.m.``),
  initials (``J. K.``, ``J.K.``, ``U.S.``), decimals (``3.5``) and an ellipsis followed by a lowercase word do not
  end a sentence.
- Grammar: no counted error from the grammar backend (`parallelbench.scoring.grammar`).
- Coherence: the coherence judge (`parallelbench.scoring.coherence`: a complete Link Grammar parse, real words, no
  repeated run, no word list, fragment or truncation) finds nothing; the required words' forms count as words. It
  reads only an answer that passed the three checks above (it costs most of the time and could not change the
  verdict of one that failed); its details then say "not run".

A row's reference holds ``words`` (in prompt order), ``pos`` (each word's part of speech) and ``forms`` (the accepted
forms of each word, made by `inflections` at generation); without ``pos`` a word may be used as a noun or a verb,
and without ``forms`` they are made at scoring.

Lenient mode forgives an "Answer:" prefix, a code fence, wrapping quotes and a missing final full stop; strict mode
takes the text as it is and wants it to end with ``.``, ``!`` or ``?``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from types import ModuleType
from typing import Any

from ..schema import Score
from ..scoring.coherence import judge_coherence, not_judged, split_sentences
from ..scoring.grammar import check_grammar
from .parsing import as_text, unwrap

#: Part-of-speech names a reference or lexicon may use, with lemminflect's universal tag for each.
UPOS: dict[str, str] = {"noun": "NOUN", "verb": "VERB", "adjective": "ADJ"}
PARTS_OF_SPEECH = tuple(UPOS)
#: The parts of speech tried for a word whose reference gives none.
DEFAULT_PARTS_OF_SPEECH = ("noun", "verb")

_LETTERS = re.compile(r"[^\W\d_]+")
_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019"
#: The longest answer judged, in characters: one sentence with up to 7 required words takes far fewer (the longest
#: of 9,262 gold sentences has 147), so a longer answer is not the one sentence asked for. It is rejected before any
#: other check, so no check ever reads only a prefix (the grammar backend reads at most 5,000 characters).
MAX_ANSWER_CHARS = 500


@lru_cache(maxsize=1)
def _lemminflect() -> ModuleType:
    """lemminflect, imported on first use: it loads numpy, a twentieth of a second no list or puzzle task needs."""
    import lemminflect

    return lemminflect


def tokens(text: str) -> list[str]:
    """Return the words of `text`: maximal runs of letters, NFKC-normalized and casefolded."""
    return _LETTERS.findall(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=1 << 16)
def _readings(form: str) -> dict[str, tuple[str, ...]]:
    """lemminflect's dictionary readings of `form`: universal part of speech -> its lemmas (do not modify)."""
    return _lemminflect().getAllLemmas(form)


def _only_reading_is(form: str, lemma: str) -> bool:
    """Whether lemminflect's dictionary reads `form` only as a form of `lemma` (no other word is spelled so)."""
    return all(lemmas == (lemma,) for lemmas in _readings(form).values())


def _spellings(word: str, upos: str) -> list[tuple[str, bool]]:
    """Return lemminflect's inflections of `word` as (form, whether it is the first spelling of its tag).

    Words missing from lemminflect's dictionary get its rule-based (OOV) forms, first spellings only, and only
    when they lemmatize back to the word; never for adjectives (the rules would invent "amazinger") and never for a
    word that is itself an inflected form ("rapids" would get "rapidses").
    """
    by_tag = _lemminflect().getAllInflections(word, upos)
    if by_tag:
        return [(form, rank == 0) for spellings in by_tag.values() for rank, form in enumerate(spellings)]
    if upos == "ADJ" or _lemminflect().getLemma(word, upos) != (word,):
        return []
    oov = _lemminflect().getAllInflectionsOOV(word, upos).values()
    return [(spellings[0], True) for spellings in oov if _lemminflect().getLemma(spellings[0], upos) == (word,)]


@lru_cache(maxsize=4096)
def _forms_of(word: str, pos: str) -> frozenset[str]:
    upos = UPOS[pos]
    return frozenset(
        form for form, first in _spellings(word, upos)
        # A noun's or verb's own first spelling counts even when it spells another word too ("left", "building");
        # an adjective's -er/-est and any second spelling count only when no other word is spelled so
        # ("flatter": to flatter; "cleaner": a cleaner; "staid": sedate; "dove": the bird).
        if form != word and ((first and upos != "ADJ") or _only_reading_is(form, word))
    )


def inflections(word: str, pos: str | None = None) -> list[str]:
    """Return the accepted forms of a required word: itself and its real inflections, lowercase.

    The inflections are lemminflect's (its dictionary ships in the wheel) for the word's part of speech; see
    `_spellings` and `_forms_of` for which of them count. A derived word that is another word is never one:
    "caves" is not "cafe", "liver" is not "live", "balloon" is not "ball".

    Args:
        word: The required word in its base form (one or more words; only the last one is inflected).
        pos: ``noun`` (plural), ``verb`` (-s, past, participles, -ing) or ``adjective`` (-er, -est where they
            exist); None gives the noun and verb forms.

    Returns:
        The forms, the word itself first, the others sorted.

    Raises:
        ValueError: For a part of speech other than those of `PARTS_OF_SPEECH`.
    """
    if pos is not None and pos not in UPOS:
        raise ValueError(f"part of speech must be one of {', '.join(PARTS_OF_SPEECH)} or None; got {pos!r}")
    base = " ".join(tokens(word))
    *head, last = base.split(" ") if base else [""]
    forms: set[str] = set()
    for part in (pos,) if pos else DEFAULT_PARTS_OF_SPEECH:
        forms |= _forms_of(last, part) if last else set()
    prefix = " ".join(head) + " " if head else ""
    return [base] + sorted(prefix + form for form in forms)


def lemmatizes_to(token: str, word: str, pos: str) -> bool:
    """Whether lemminflect's dictionary lemmatizes `token`, read as `pos`, to `word` alone.

    This is the other direction of `inflections` (``getLemma(token, upos, lemmatize_oov=False)``, read from the
    cached readings of the token): a form the dictionary knows only from the lemma side ("shaven" for "shave")
    counts, under the same rule: no other word may be spelled so ("flatter" is not "flat").
    """
    return token != word and word in _readings(token).get(UPOS[pos], ()) and _only_reading_is(token, word)


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


def word_used(found: list[str], word: str, forms: list[str], parts_of_speech: tuple[str, ...]) -> bool:
    """Return whether a text's tokens use a required word: one of its listed forms, or a token lemmatized to it.

    Args:
        found: The tokens of the text (see `tokens`).
        word: The required word (one or more words; only the last one may be inflected).
        forms: Its accepted forms (see `inflections`).
        parts_of_speech: The parts of speech the word is required as (for `lemmatizes_to`).

    Returns:
        True when some form occurs as consecutive whole tokens, or the word's leading tokens are followed by a
        token that lemminflect lemmatizes to its last token.
    """
    if uses(found, forms):
        return True
    *head, last = tokens(word) or [""]
    size = len(head)
    return any(found[i - size : i] == head and lemmatizes_to(found[i], last, pos)
               for i in range(size, len(found)) for pos in parts_of_speech)


def count_sentences(text: str) -> int:
    """Return how many sentences `text` holds (see `parallelbench.scoring.coherence.split_sentences`)."""
    return len(split_sentences(text))


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
        reference: The row's reference: ``words`` and, optionally, ``pos`` (word -> part of speech) and ``forms``
            (word -> accepted forms).
        prediction: The model's output.
        strict: Take the text exactly as written and require final punctuation.

    Returns:
        A `Score` of 1.0 when all three parts hold, else 0.0; details hold each part separately. An answer longer
        than `MAX_ANSWER_CHARS` scores 0.0 with the reason "too long for one sentence" and is not checked further.
    """
    mode = "strict" if strict else "lenient"
    sentence, bare = _sentence_of(prediction, strict)
    if len(sentence) > MAX_ANSWER_CHARS:
        reason = (f"too long for one sentence: {len(sentence):,} characters, at most {MAX_ANSWER_CHARS} "
                  "(not checked further)")
        return Score(0.0, False, reason, {"mode": mode, "characters": len(sentence), "too_long": True})
    words = list(reference["words"])
    parts = reference.get("pos") or {}
    forms = {word: (reference.get("forms") or {}).get(word) or inflections(word, parts.get(word)) for word in words}
    found = tokens(sentence)
    used = {word: word_used(found, word, forms[word], (parts[word],) if parts.get(word) else DEFAULT_PARTS_OF_SPEECH)
            for word in words}
    missing = [word for word in words if not used[word]]
    sentences = count_sentences(sentence)
    formatted = not strict or (bare and sentence.rstrip(_WRAPPING_QUOTES + ")").endswith((".", "!", "?")))
    one_sentence = sentences == 1 and formatted
    report = check_grammar(sentence)
    if missing or not one_sentence or not report.ok:
        coherence = not_judged("the answer already fails")
    else:  # the forms of the required words are words, even those the parser's dictionary lacks ("frisbee")
        coherence = judge_coherence(sentence, known_words=[form for word in words for form in forms[word]])
    details = {
        "mode": mode, "characters": len(sentence), "too_long": False, "words_used": used, "missing_words": missing,
        "all_words_used": not missing, "sentences": sentences, "one_sentence": one_sentence, "grammatical": report.ok,
        **report.details(), **coherence.details(),
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
    if not coherence.ok:
        problems.append("incoherent: " + "; ".join(coherence.problems[:3]))
    if problems:
        return Score(0.0, False, "; ".join(problems), details)
    return Score(1.0, True, "ok", details)
