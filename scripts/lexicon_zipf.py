"""Refresh the Zipf word frequencies stored in the words-to-sentence lexicon.

The lexicon (generators/data/words_to_sentence_lexicon.json) is authored by hand: everyday scenes, each with nouns,
verbs and adjectives. Each word's frequency on the Zipf scale (log10 of occurrences per billion words) comes from the
`wordfreq` package. Generation reads the stored values, so it needs neither wordfreq nor any download; run this script
after editing the lexicon (or to move to a newer wordfreq), then review the diff:

    pip install wordfreq
    python scripts/lexicon_zipf.py

Bump the generator version in generators/words_to_sentence.py when the stored values change.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from wordfreq import zipf_frequency

LEXICON = Path(__file__).resolve().parent.parent / "generators" / "data" / "words_to_sentence_lexicon.json"
PARTS_OF_SPEECH = ("nouns", "verbs", "adjectives")


def main() -> None:
    """Recompute every word's Zipf frequency (English, wordfreq's default word list) and rewrite the lexicon."""
    lexicon = json.loads(LEXICON.read_text(encoding="utf-8"))
    for scene in lexicon["scenes"]:
        for part in PARTS_OF_SPEECH:
            scene[part] = {word: zipf_frequency(word, "en") for word in scene[part]}
    lexicon["zipf_source"] = f"wordfreq {version('wordfreq')}: zipf_frequency(word, 'en')"
    LEXICON.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"updated {sum(len(s[p]) for s in lexicon['scenes'] for p in PARTS_OF_SPEECH)} words in {LEXICON}")


if __name__ == "__main__":
    main()
