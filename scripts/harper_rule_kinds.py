"""Find the Harper rules that never report a counted grammar error, and write them to scoring/harper_rules.py.

Harper runs about 900 rules, and its time per sentence grows with the number of rules that run. Every lint has a
kind, and `parallelbench.scoring.grammar` counts only some kinds (`HARPER_COUNTED_KINDS`, plus the rules in
`HARPER_COUNTED_RULES`). A rule whose lints are all of other kinds (spelling, style, capitalization, word choice ...)
can never change a verdict, so the grammar backend switches it off. This script finds those rules:

1. With every rule on, it lints trigger texts and records the kinds each rule reports. The triggers are: the
   ``test`` and ``allows`` sentences of Harper's Weir rules (their sources are compiled into harper-py's extension
   module, so the script reads them from there); every rule's description, without its code marks, and each marked
   phrase on its own and in a sentence; phrases made from rule names ("AllOfASudden" -> "all of a sudden",
   "Anybody" -> "any body"); the grammar fixture; and `EXTRA_TRIGGERS`, sentences written for costly rules that
   nothing else triggered.
2. Harper's "Proper Nouns" rules are capitalization rules: harper-core's ProperNounCapitalizationLinter reports only
   the Capitalization kind.
3. A rule is written out when every kind it reported is uncounted and it is not in `HARPER_COUNTED_RULES`. A rule
   that nothing triggered stays on, so a grammar error it could report is still counted.

Run it after upgrading harper-py (it takes a few minutes), then review the diff and run tests/test_grammar.py:

    python scripts/harper_rule_kinds.py
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

import harper
from harper import _harper

from parallelbench.scoring.grammar import HARPER_COUNTED_KINDS, HARPER_COUNTED_RULES

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "scoring" / "harper_rules.py"
FIXTURE = ROOT / "tests" / "data" / "grammar_fixture.jsonl"
PROPER_NOUN_GROUP = "Proper Nouns"
FRAMES = ("{}", "I think {} is here.", "They said {} yesterday.", "We {} every day.", "It was {}.", "The {} is big.")
#: Sentences for costly rules that neither Harper's Weir tests, nor the descriptions, nor the rule names triggered.
EXTRA_TRIGGERS = """\
I left my bag in the boot of the car and took the lift to the flat.
We ate french fries and cookies while he filled the gas tank with petrol.
She flew to Bombay and then to Peking last year.
She was jealous on her sister.
It is to late to go.
He follows a strict exercise regiment every day.
Does he take a does of medicine?
Have you every been to Paris?
Who will verse him in the final?
It is not uncommon to see that.
We had to make due with what we had.
They flaunt the rules every day.
TBH I do not like it.
Stop the waist of time.
In so far as I know, it works.
He is the bain of my existence.
He walked to towards the door.
We need to get rid off it.
They sell apples, pears, and the likes.
He drove way to fast.
She stood with arms a kimbo.
IMO this is wrong.
The cat cleaned it self.
I have lived here since three years.
They invest into stocks.
He went ahead and deletes the file.
We first started the project.
Is there any apples left?
OTOH it may be fine.
I like you car.
She is the best singer of all times.
We met in january.
Without further adieu, let us begin.
That is a mute point.
He tried to tote the product as a miracle.
We are running into a problems with the server.
AFAICT it is fine.
I saw him few days ago.
You hit the nail on the had.
He is no match to her.
That is total bullocks.
I am used of it.
Let me to help you.
He is know for his jokes.
Whom is coming to dinner?
You have another think coming.
Please conform that you received it.
I eat my medicine every day.
They got their just desserts.
In this day in age we use phones.
On third time he won.
The entry is fee for children.
He is better off served elsewhere.
He dint go to school.
Your well being matters.
He shot himself in his foot.
It could seen strange.
I am not sure to what to do.
We need to change tact.
I though you were gone.
It is a sort after skill.
He tried his hands at painting.
She was a nervous wrack.
She is passtionate of music.
Somethings happening here.
We visited Porto Novo.
Your going to love it.
""".splitlines()


def weir_sentences() -> list[str]:
    """Return the test and ``allows`` sentences of the Weir rules compiled into harper-py's extension module."""
    binary = Path(_harper.__file__).read_bytes().decode("utf-8", "replace")
    found = re.findall(r'^(?:test|allows) "((?:[^"\\]|\\.)*)"', binary, re.MULTILINE)
    return [sentence.replace('\\"', '"') for sentence in found]


def description_texts(descriptions: dict[str, str]) -> list[str]:
    """Return each description without code marks, and each marked phrase alone and in a few sentences."""
    texts = []
    for description in descriptions.values():
        texts.append(description.replace("`", ""))
        for phrase in re.findall(r"`([^`]+)`", description):
            texts += [phrase, f"I think {phrase} is here.", phrase[:1].upper() + phrase[1:] + "."]
    return texts


def name_texts(names: list[str]) -> list[str]:
    """Return phrases made from rule names, each in every frame of `FRAMES`: the words of the name, and the name
    split once with a space or a hyphen (a closed-compound rule such as "Anybody" flags "any body")."""
    texts = []
    for name in names:
        words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|\d+", name)
        phrase = " ".join(word.lower() for word in words)
        lower = name.lower()
        candidates = {phrase, phrase.capitalize()}
        candidates |= {lower[:i] + gap + lower[i:] for i in range(2, len(lower) - 1) for gap in (" ", "-")}
        texts += [frame.format(candidate) for candidate in sorted(candidates) for frame in FRAMES]
    return texts


def record_kinds(linter: harper.Linter, texts: list[str], kinds: defaultdict[str, set[str]]) -> None:
    """Lint every text (no overlap removal) and add the lint kinds each rule reported to `kinds`."""
    for text in texts:
        for rule, lints in linter.organized_lints(text, language="plaintext", dedup=False).items():
            for lint in lints:
                kinds[rule].add(lint.lint_kind)


def proper_noun_rules(linter: harper.Linter) -> list[str]:
    """Return the rules of Harper's "Proper Nouns" settings group."""
    for setting in linter.get_structured_lint_config()["settings"]:
        group = setting.get("Group", {})
        if group.get("label") == PROPER_NOUN_GROUP:
            return [child["Bool"]["name"] for child in group["child"]["settings"] if "Bool" in child]
    raise RuntimeError(f"Harper has no {PROPER_NOUN_GROUP!r} settings group any more: review this script")


def render(uncounted: list[str], total: int) -> str:
    """Return the text of scoring/harper_rules.py."""
    lines, line = [], "   "
    for name in uncounted:
        item = f' "{name}",'
        if len(line) + len(item) > 119:
            lines.append(line)
            line = "   "
        line += item
    lines.append(line)
    body = "\n".join(lines)
    return f'''"""Harper rules that never report a counted grammar error: the grammar backend switches them off.

Generated by scripts/harper_rule_kinds.py (read it for how) for harper-py {version("harper-py")}; do not edit by hand.
{len(uncounted)} of Harper's {total} rules are listed: on Harper's own rule tests, rule descriptions and the other triggers
of the script, each one reported only kinds that do not count (spelling, style, capitalization, word choice ...), or
it is a proper-noun capitalization rule. Their lints do not count, so running them would only cost time.
"""

#: The harper-py version the list was derived for.
DERIVED_FOR = "{version("harper-py")}"

UNCOUNTED_RULES: frozenset[str] = frozenset({{
{body}
}})
'''


def main() -> None:
    """Derive the uncounted rules and rewrite scoring/harper_rules.py."""
    linter = harper.Linter(harper.Dialect.AMERICAN)
    names = sorted(linter.get_default_lint_config())
    linter.set_lint_config({name: True for name in names})
    fixture = [json.loads(line)["text"] for line in FIXTURE.read_text().splitlines() if line.strip()]
    texts = weir_sentences() + description_texts(linter.get_lint_descriptions()) + fixture + EXTRA_TRIGGERS
    kinds: defaultdict[str, set[str]] = defaultdict(set)
    record_kinds(linter, texts, kinds)
    record_kinds(linter, name_texts([name for name in names if name not in kinds]), kinds)
    for name in proper_noun_rules(linter):
        kinds[name].add("Capitalization")
    uncounted = sorted(name for name, found in kinds.items()
                       if not found & HARPER_COUNTED_KINDS and name not in HARPER_COUNTED_RULES)
    OUTPUT.write_text(render(uncounted, len(names)), encoding="utf-8")
    untriggered = len(names) - len(kinds)
    print(f"{len(uncounted)} of {len(names)} rules written to {OUTPUT} ({untriggered} never triggered stay on)")


if __name__ == "__main__":
    main()
