"""Word-overlap metrics of the text tasks: our smoothed BLEU, the paper's BLEU, and ROUGE-1/2/L from rouge-score.

- `bleu`: sentence BLEU-4 from nltk with smoothing method 1, on our tokens (lowercase runs of letters or digits). The
  paraphrase score's ``value`` uses it: smoothing gives partial overlap partial credit, where unsmoothed BLEU drops
  to 0 as soon as no 4-gram is shared.
- `paper_bleu`: BLEU as the original release computed it, through Hugging Face ``evaluate``'s "bleu" metric with
  its defaults: the ``13a`` tokenizer (mteval-v13a, as in WMT and sacrebleu; case kept), corpus BLEU-4 over one
  segment, no smoothing (tensorflow/nmt's ``compute_bleu``). ``evaluate.load("bleu")`` fetches its script from the
  network, so the same computation is written here (`tokenize_13a`, `corpus_bleu`); tests check it on worked
  examples computed by hand.
- `rouge`: ROUGE-1, ROUGE-2 and ROUGE-L F1 from Google's ``rouge-score`` package (what ``evaluate``'s "rouge" metric
  runs), with its Porter stemmer as the original release used it (``use_stemmer=True``).

No metric needs downloaded data. nltk and rouge-score are imported on first use: importing nltk takes about a second
(it pulls in scipy), and generating rows or scoring lists must not pay for it. Texts are cut to `MAX_TOKENS` tokens (`MAX_CHARS` characters for the 13a tokenizer
and rouge-score), so a huge prediction costs bounded time; every gold answer is far shorter.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache

from typing import Any

#: Predictions are scored on their first this-many tokens (a gold answer is far shorter).
MAX_TOKENS = 1_000
#: The 13a tokenizer and rouge-score read at most this many characters of a text.
MAX_CHARS = 10_000
#: The n-gram orders of BLEU-4.
BLEU_MAX_ORDER = 4
#: The ROUGE variants reported, as rouge-score names them.
ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")

_TOKEN = re.compile(r"[^\W_]+")

# mteval-v13a's tokenization (as in sacrebleu's and evaluate's tokenizer_13a), applied in this order:
_13A_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # every symbol but . , ' and - becomes its own token: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    # a period or comma not preceded by a digit is a token ...
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    # ... and so is one not followed by a digit ("3.5" and "1,000" stay whole)
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    # a dash after a digit is a token
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
)


def overlap_tokens(text: str) -> list[str]:
    """Return the lowercase letter-or-digit runs of `text`, at most `MAX_TOKENS` of them."""
    found = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).casefold()):
        found.append(match.group(0))
        if len(found) == MAX_TOKENS:
            break
    return found


def bleu(hypothesis: str, reference: str) -> float:
    """Return our sentence BLEU-4 of `hypothesis` against one `reference`, in [0, 1].

    Args:
        hypothesis: The text being scored.
        reference: The text it is compared with.

    Returns:
        nltk's `sentence_bleu` on `overlap_tokens` with uniform 1-4-gram weights and smoothing method 1 (so short
        texts that share no 4-gram do not collapse to 0); 0.0 when either side has no token.
    """
    hyp, ref = overlap_tokens(hypothesis), overlap_tokens(reference)
    if not hyp or not ref:
        return 0.0
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # slow to import: see the module docstring

    return float(sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method1))


def tokenize_13a(text: str) -> list[str]:
    """Return the tokens of `text` under mteval-v13a's tokenization (the default of ``evaluate``'s "bleu").

    Args:
        text: The text (its first `MAX_CHARS` characters are read).

    Returns:
        The tokens, case kept: words, numbers such as "3.5" and "1,000", and every punctuation mark alone
        (an apostrophe and a dash inside a word stay: "don't", "well-known").
    """
    line = text[:MAX_CHARS].replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def _ngrams(tokens: list[str], max_order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: list[list[str]], references: list[list[list[str]]], max_order: int = BLEU_MAX_ORDER) -> float:
    """Return corpus BLEU without smoothing, computed as tensorflow/nmt's ``compute_bleu`` (used by ``evaluate``).

    Clipped n-gram matches and possible n-grams are summed over the corpus for each order 1..`max_order`; BLEU is
    the geometric mean of the precisions (0 when any precision is 0) times the brevity penalty
    ``exp(1 - r/c)`` for a corpus shorter than its references (c < r; r sums each segment's shortest reference).

    Args:
        hypotheses: The tokenized hypotheses.
        references: For each hypothesis, its tokenized references.
        max_order: The highest n-gram order.

    Returns:
        BLEU in [0, 1]; 0.0 when the hypotheses or the references have no token.
    """
    matches, possible = [0] * max_order, [0] * max_order
    hypothesis_length = reference_length = 0
    for hypothesis, segment_references in zip(hypotheses, references):
        hypothesis_length += len(hypothesis)
        reference_length += min(len(reference) for reference in segment_references)
        reference_counts: Counter[tuple[str, ...]] = Counter()
        for reference in segment_references:
            reference_counts |= _ngrams(reference, max_order)
        for ngram, count in (_ngrams(hypothesis, max_order) & reference_counts).items():
            matches[len(ngram) - 1] += count
        for order in range(1, max_order + 1):
            possible[order - 1] += max(0, len(hypothesis) - order + 1)
    if hypothesis_length == 0 or reference_length == 0:
        return 0.0
    precisions = [m / p if p > 0 else 0.0 for m, p in zip(matches, possible)]
    if min(precisions) == 0.0:
        return 0.0
    geometric_mean = math.exp(sum(math.log(p) for p in precisions) / max_order)
    ratio = hypothesis_length / reference_length
    brevity_penalty = 1.0 if ratio > 1.0 else math.exp(1 - 1.0 / ratio)
    return geometric_mean * brevity_penalty


def paper_bleu(hypothesis: str, reference: str) -> float:
    """Return BLEU as the original release computed it: ``evaluate``'s "bleu" on one prediction and one reference.

    Args:
        hypothesis: The prediction.
        reference: The one reference.

    Returns:
        `corpus_bleu` of the 13a tokens (BLEU-4, no smoothing), in [0, 1].
    """
    return corpus_bleu([tokenize_13a(hypothesis)], [[tokenize_13a(reference)]])


class _CachedPorterStemmer:
    """rouge-score's Porter stemmer, remembering each word's stem (stemming is most of ROUGE's time)."""

    def __init__(self) -> None:
        from nltk.stem import porter

        self.stem = lru_cache(maxsize=65_536)(porter.PorterStemmer().stem)


class _StemmingTokenizer:
    """rouge-score's default tokenizer with ``use_stemmer=True``, through the cached stemmer: the same tokens.

    rouge-score takes any object with a ``tokenize`` method as its tokenizer.
    """

    def __init__(self) -> None:
        from rouge_score import tokenize

        self._tokenize = tokenize.tokenize
        self._stemmer = _CachedPorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        return self._tokenize(text, self._stemmer)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer  # imports nltk: see the module docstring

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=_StemmingTokenizer())


def rouge(hypothesis: str, reference: str) -> dict[str, float]:
    """Return ROUGE-1, ROUGE-2 and ROUGE-L F1 of `hypothesis` against `reference`, from rouge-score.

    Args:
        hypothesis: The text being scored (its first `MAX_CHARS` characters).
        reference: The reference text.

    Returns:
        ``{"rouge1": f1, "rouge2": f1, "rougeL": f1}``, each in [0, 1], with rouge-score's tokenizer (lowercase
        runs of a-z and 0-9) and Porter stemmer, as the original release called it through ``evaluate``.
    """
    scores = _rouge_scorer().score(reference[:MAX_CHARS], hypothesis[:MAX_CHARS])
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}
