"""Word-overlap metrics of the text tasks: sentence BLEU (nltk) and ROUGE-L (an exact LCS, written here).

Both work on the same tokens: lowercase runs of letters or digits (rouge-score's default tokenizer, without stemming),
cut to `MAX_TOKENS` so that a huge prediction costs bounded time. Neither needs downloaded data.
"""

from __future__ import annotations

import re
import unicodedata

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

#: Predictions are scored on their first this-many tokens (a gold answer is far shorter).
MAX_TOKENS = 1_000

_TOKEN = re.compile(r"[^\W_]+")
_SMOOTHING = SmoothingFunction().method1


def overlap_tokens(text: str) -> list[str]:
    """Return the lowercase letter-or-digit runs of `text`, at most `MAX_TOKENS` of them."""
    found = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).casefold()):
        found.append(match.group(0))
        if len(found) == MAX_TOKENS:
            break
    return found


def bleu(hypothesis: str, reference: str) -> float:
    """Return sentence BLEU-4 of `hypothesis` against one `reference`, in [0, 1].

    Args:
        hypothesis: The text being scored.
        reference: The text it is compared with.

    Returns:
        nltk's `sentence_bleu` with uniform 1-4-gram weights and smoothing method 1 (so short texts that share
        no 4-gram do not collapse to 0); 0.0 when either side has no token.
    """
    hyp, ref = overlap_tokens(hypothesis), overlap_tokens(reference)
    if not hyp or not ref:
        return 0.0
    return float(sentence_bleu([ref], hyp, smoothing_function=_SMOOTHING))


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, reference: str) -> float:
    """Return the ROUGE-L F1 of `hypothesis` against `reference`, in [0, 1].

    Args:
        hypothesis: The text being scored.
        reference: The reference text.

    Returns:
        F1 of precision LCS/len(hypothesis) and recall LCS/len(reference), where LCS is the longest common
        token subsequence (computed exactly; the same value as rouge-score's ``rougeL`` without stemming).
    """
    hyp, ref = overlap_tokens(hypothesis), overlap_tokens(reference)
    if not hyp or not ref:
        return 0.0
    common = _lcs_length(hyp, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall)
