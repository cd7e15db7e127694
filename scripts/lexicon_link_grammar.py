"""Check the words-to-sentence lexicon against the Link Grammar parser and store which verbs need an object.

Every row's gold sentence comes from a fixed frame (`gold_sentence` in generators/words_to_sentence.py) and must pass
the full validator, whose coherence judge wants a complete Link Grammar parse. A frame is grammatical for every
word only if the parser knows each word in its part of speech, and a verb's frame depends on its valency: Link
Grammar rejects "We learned to fix." (fix needs an object) and "We learned to arrive it.". This script parses, with
the `link-parser` program (Debian package `link-grammar`):

- every verb in "We learned to <verb>." and, where that fails, "We learned to <verb> it."; the verbs that need the
  object are stored in the lexicon as ``verbs_needing_object`` (the frame then says "learned to fix it");
- every noun in "We talked about the <noun>." and every adjective in "We found everything <adjective>.".

A word that parses in none of its frames is listed and the script exits with status 1: take it out of the lexicon
(the parser does not know it in that part of speech). Generation reads the stored list, so it needs no parser. Run
it after editing the lexicon, review the diff, and bump the generator version when the list changes:

    python scripts/lexicon_link_grammar.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

LEXICON = Path(__file__).resolve().parent.parent / "generators" / "data" / "words_to_sentence_lexicon.json"
#: Each noun and adjective as the gold frame uses it (a noun with an adjective before it; an adjective on "things").
FRAMES = {"nouns": "We talked about the quiet {}.", "adjectives": "We found {} things."}
VERB_FRAME, VERB_WITH_OBJECT_FRAME = "We learned to {}.", "We learned to {} it."


def complete_parses(sentences: list[str]) -> set[str]:
    """Return the sentences that `link-parser` parses completely (a linkage with no unused word)."""
    run = subprocess.run(["link-parser", "-graphics=0", "-echo=1"], input="\n".join(sentences) + "\n",
                         capture_output=True, text=True, check=True)
    wanted, parsed, current = set(sentences), set(), None
    for line in run.stdout.splitlines():
        if line in wanted:
            current = line
        elif current is not None and (match := re.search(r"UNUSED=(\d+)", line)):
            if match.group(1) == "0":
                parsed.add(current)
            current = None  # only the best linkage of each sentence counts
    return parsed


def first_part_of_speech(lexicon: dict) -> dict[str, set[str]]:
    """Part of speech (``nouns``, ``verbs``, ``adjectives``) -> the words used so (first part of speech per scene)."""
    words: dict[str, set[str]] = {part: set() for part in ("nouns", "verbs", "adjectives")}
    for scene in lexicon["scenes"]:
        seen: set[str] = set()
        for part in words:
            words[part] |= set(scene[part]) - seen
            seen |= set(scene[part])
    return words


def main() -> int:
    """Parse every lexicon word in its frames, store ``verbs_needing_object``, and report words that never parse."""
    lexicon = json.loads(LEXICON.read_text(encoding="utf-8"))
    words = first_part_of_speech(lexicon)
    verbs = sorted(words["verbs"])
    plain = complete_parses([VERB_FRAME.format(verb) for verb in verbs])
    needing = [verb for verb in verbs if VERB_FRAME.format(verb) not in plain]
    with_object = complete_parses([VERB_WITH_OBJECT_FRAME.format(verb) for verb in needing])
    unparsed_verbs = [verb for verb in needing if VERB_WITH_OBJECT_FRAME.format(verb) not in with_object]
    failures = [f"verb {verb!r}" for verb in unparsed_verbs]
    for part, frame in FRAMES.items():
        parsed = complete_parses([frame.format(word) for word in sorted(words[part])])
        failures += [f"{part[:-1]} {word!r}" for word in sorted(words[part]) if frame.format(word) not in parsed]
    version = subprocess.run(["link-parser", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lexicon["verbs_needing_object"] = [verb for verb in needing if verb not in unparsed_verbs]
    lexicon["verbs_needing_object_source"] = (f"{version.removeprefix('Version: ')}: {VERB_FRAME!r} has no complete "
                                              f"parse, {VERB_WITH_OBJECT_FRAME!r} has")
    LEXICON.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(lexicon['verbs_needing_object'])} of {len(verbs)} verbs need an object; wrote {LEXICON}")
    if failures:
        print("no complete parse in any frame (take these out of the lexicon):", ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
