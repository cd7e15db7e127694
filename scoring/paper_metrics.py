"""The original release's text metrics, reported beside ours in every paraphrase and summary Score's details.

The original ParallelBench scored a paraphrase as ``(1 - BLEU) x BERTScore-F1 x grammar`` and a summary as
``ROUGE-L x grammar`` (its ``dataset/parallel_bench/metrics.py``), where BLEU is Hugging Face ``evaluate``'s "bleu",
ROUGE is ``evaluate``'s "rouge" with ``use_stemmer=True``, and grammar is 1 when LanguageTool (en-US, default rules)
returns no match at all. `paper_metrics` computes the parts that run offline here, on the prediction as that code read
it (only stripped of surrounding whitespace):

- ``paper_bleu``: `parallelbench.scoring.overlap.paper_bleu` against the reference text;
- ``rouge1``, ``rouge2``, ``rougeL``: `parallelbench.scoring.overlap.rouge` (rouge-score, stemmed) against it;
- ``languagetool_zero_matches``: LanguageTool's verdict (no match of any kind) when a LanguageTool server is
  configured in ``$PARALLELBENCH_LANGUAGETOOL_URL``, else None; ``languagetool_matches`` counts its matches and
  ``languagetool`` names the server and client version (or says it is not configured).

BERTScore needs the roberta-large model (1.4 GB, downloaded at first use), so it is not computed; ours uses the
MiniLM similarity instead (see docs/text_tasks.md for every difference).
"""

from __future__ import annotations

import os
from typing import Any

from .grammar import LANGUAGETOOL_URL_ENV, check_grammar
from .overlap import paper_bleu, rouge

_LANGUAGETOOL_RULE_PREFIX = "languagetool:"


def languagetool_verdict(text: str) -> dict[str, Any]:
    """Return the original release's grammar verdict on `text`: LanguageTool found no match at all.

    Args:
        text: The prediction, stripped.

    Returns:
        ``languagetool_zero_matches`` (True or False; None when no server is configured or the text is empty, which
        the original scored 0), ``languagetool_matches`` (the number of matches, or None) and ``languagetool`` (the
        server and client, or why there is no verdict).

    Raises:
        GrammarBackendUnavailable: When a server is configured but ``language_tool_python`` is not installed.
    """
    if not os.environ.get(LANGUAGETOOL_URL_ENV):
        return {"languagetool_zero_matches": None, "languagetool_matches": None,
                "languagetool": f"not configured (set {LANGUAGETOOL_URL_ENV} to a LanguageTool server URL)"}
    if not text:
        return {"languagetool_zero_matches": False, "languagetool_matches": None, "languagetool": "empty text"}
    report = check_grammar(text, "languagetool")
    # The report counts the grammar and duplication matches as errors and every other match as ignored; our own
    # repeated-word errors are added to it and are no LanguageTool match.
    matches = report.ignored + sum(error.rule.startswith(_LANGUAGETOOL_RULE_PREFIX) for error in report.errors)
    return {"languagetool_zero_matches": matches == 0, "languagetool_matches": matches, "languagetool": report.version}


def paper_metrics(prediction: str, against: str) -> dict[str, Any]:
    """Return the original release's metrics of `prediction` against `against` (a source or a reference summary).

    Args:
        prediction: The model's output as given (only surrounding whitespace is stripped, as the original did).
        against: The paraphrase's source or the reference summary.

    Returns:
        ``paper_bleu``, ``rouge1``, ``rouge2``, ``rougeL`` (rounded to 6 places) and the `languagetool_verdict` keys.
    """
    text = prediction.strip()
    scores = {"paper_bleu": paper_bleu(text, against), **rouge(text, against)}
    return {**{name: round(value, 6) for name, value in scores.items()}, **languagetool_verdict(text)}
