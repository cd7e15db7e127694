"""Paraphrase and summarization, with offline, seeded sources (the paper's chatgpt-paraphrases and SAMSum tasks).

`paraphrase_summarize/paraphrase`: a source sentence made from one of several fact frames (a purchase, an office
opening, a delay, ...) filled with people (Faker's en_US name tables through `people.py`), cities, companies (a last
name and one of Faker's en_US company suffixes), days, months and quantities. Each frame has two hand-written
renderings with different structure: one is the source, the other the gold paraphrase. Both are grammatical by
construction (every gold sentence has a complete Link Grammar parse), and the core checks the gold against the
validator at generation. The reference stores the source, its ``entities`` (to keep), its ``names`` (the proper
names among them, for the coherence judge) and its ``roles``: the facts with two roles that a paraphrase could
exchange (who sold to whom), checked by `parallelbench.validators.roles`.

`paraphrase_summarize/summarize`: a short dialogue between 2-4 people (first names) about a concrete plan (meet,
lend, buy a gift, reschedule), with a reference summary built from the same facts, and the ``roles`` of the plan
(who lends to whom, from which day to which).

No person's first name equals their last name ("Martin Martin"), and no name is a month or a day ("May Ltd"): see
`_usable_name`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from faker.providers.company.en_US import Provider as _EnUsCompanies

from .. import rng as rnd
from ..rng import RowRandom
from ..registry import Instance, TaskSpec
from ..validators import paraphrase_summarize as validator
from .people import draw_full_name

KINDS: tuple[str, ...] = ("paraphrase", "summarize")
#: 3: references store ``names`` and ``roles``; names drawn with `_people` (no "Martin Martin", no "May Ltd");
#: gold templates with a complete Link Grammar parse; "Houston" for "Phoenix".
GENERATOR_VERSION = "3"
#: Cities the Link Grammar dictionary reads as proper nouns ("Phoenix" is not one: it parses as the common noun, so a
#: sentence naming it has no complete parse).
CITIES: tuple[str, ...] = (
    "Denver", "Boston", "Seattle", "Chicago", "Austin", "Portland", "Atlanta", "Houston", "Dallas", "Miami",
    "Detroit", "Nashville", "Baltimore", "Sacramento", "Pittsburgh", "Cleveland", "Tucson", "Omaha", "Raleigh", "Tampa",
)
DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                           "October", "November", "December")
ITEMS: tuple[str, ...] = ("laptops", "chairs", "bicycles", "printers", "tablets", "desks", "lamps", "monitors")
PLACES: tuple[str, ...] = ("cinema", "library", "cafe", "park", "gym", "museum", "station", "bakery", "beach", "mall")
LENT_ITEMS: tuple[str, ...] = ("camera", "tent", "drill", "projector", "bike", "ladder", "guitar", "suitcase")
GIFTS: tuple[str, ...] = ("cookbook", "scarf", "watch", "plant", "board game", "backpack", "lamp", "puzzle")
EVENTS: tuple[str, ...] = ("dinner", "meeting", "rehearsal", "game night", "interview", "lesson")
_ENTITY_SLOTS = frozenset({"p1", "p2", "company", "city", "day", "month", "n"})
#: Names of days and months: no person or company in these tasks carries one (see `_usable_name`).
_CALENDAR_WORDS = frozenset(DAYS + MONTHS)
#: The slots that hold proper names (a dictionary need not know them): the reference's ``names``.
_NAME_SLOTS = frozenset({"p1", "p2", "company", "city"})
TIMES: tuple[str, ...] = ("10 am", "noon", "3 pm", "5 pm", "6 pm", "7 pm", "8 pm")

@dataclass(frozen=True)
class Frame:
    """One fact frame of the paraphrase task.

    Attributes:
        source: The source sentence's template. Slots: {p1} {p2} people, {company}, {city}, {day}, {month}, {n} a
            quantity, {item} a plural noun.
        paraphrase: The gold paraphrase's template (other wording and structure, the same facts).
        roles: The facts whose two roles a paraphrase could exchange, as (agent slot, relation, patient slot); the
            relation is one of `parallelbench.validators.roles.RELATIONS`.
    """

    source: str
    paraphrase: str
    roles: tuple[tuple[str, str, str], ...] = ()


#: The fact frames. The names, places, days and numbers a source holds are the row's ``entities`` (a paraphrase must
#: keep every one of them); its ``roles`` are the facts with two roles (a paraphrase must keep them the right way round).
FRAMES: tuple[Frame, ...] = (
    Frame("{p1} bought {n} {item} from {company} in {city} on {day}.",
          "On {day}, {company} sold {n} {item} to {p1} in {city}.",
          (("company", "sell", "p1"),)),
    Frame("{company} will open a new office in {city} next {month}, and it plans to hire {n} people.",
          "Next {month}, {company} is going to open another office in {city} and intends to employ {n} workers.",
          (("company", "open_in", "city"),)),
    Frame("Because the train from {city} was delayed, {p1} arrived at the meeting {n} minutes late.",
          "{p1} got to the meeting {n} minutes behind schedule since the train from {city} ran late."),
    Frame("{p1} and {p2} spent {n} days hiking near {city} last {month}.",
          "Last {month}, {p2} and {p1} went hiking around {city} for {n} days."),
    Frame("The report that {p1} wrote for {company} was praised by the board on {day}.",
          "On {day}, the board of {company} praised the report written by {p1}.",
          (("p1", "write_for", "company"),)),
    Frame("{p1} has worked at {company} for {n} years and now leads a team in {city}.",
          "For {n} years, {p1} has been employed by {company}, where they now head a team based in {city}.",
          (("p1", "work_for", "company"),)),
    Frame("If the weather is good on {day}, {p1} will drive {p2} to the airport in {city}.",
          "{p1} is going to give {p2} a ride to the {city} airport on {day} if the weather stays nice.",
          (("p1", "drive", "p2"),)),
    Frame("{company} raised the price of its {item} by {n} percent in {month}.",
          "In {month}, {company} made its {item} more expensive by {n} percent."),
    Frame("After a long discussion on {day}, {p1} agreed to sell {n} {item} to {company}.",
          "{p1} accepted an offer from {company} for {n} {item} on {day}, after talking it over for a long time.",
          (("p1", "sell", "company"),)),
    Frame("Every {day}, {p1} teaches a cooking class for {n} students at a community center in {city}.",
          "At a community center in {city}, {p1} gives a cooking lesson to {n} students each {day}."),
)


@dataclass(frozen=True)
class TextTaskConfig:
    """Parameters of one paraphrase or summarization task.

    Attributes:
        kind: ``paraphrase`` or ``summarize``.
        n_people: For ``summarize``: the number of people in a dialogue, one count or an inclusive (min, max) range
            within 2-4.
    """

    kind: str
    n_people: tuple[int, int] | int = (2, 4)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        people = self.n_people
        if isinstance(people, int) and not isinstance(people, bool):
            people = (people, people)
        if not (isinstance(people, (tuple, list)) and len(people) == 2 and all(isinstance(v, int) for v in people)
                and 2 <= people[0] <= people[1] <= 4):
            raise ValueError(f"n_people must be an int or a (min, max) pair within 2-4; got {self.n_people!r}")
        object.__setattr__(self, "n_people", tuple(people))


def _usable_name(name: str) -> bool:
    """Whether a person's name (or a company's last name) can appear in a text task's sentences.

    Two kinds of real name cannot. A name whose first name is also its last name ("Martin Martin") puts the same
    word twice in a row into the source, and a correct answer would have to repeat it: every checker of these tasks
    rejects a doubled word (the typical parallel-decoding failure), so the task must not require one. A name part
    that is a month or a day ("May", "April") reads as that word: Harper flags "May Ltd" as the modal verb "may"
    followed by an adjective, and "April" would satisfy the entity check for the month April.
    """
    parts = name.split(" ")
    return len(set(parts)) == len(parts) and not _CALENDAR_WORDS.intersection(parts)


def _people(rng: RowRandom, count: int) -> list[str]:
    """Return `count` distinct full names, each `_usable_name`."""
    names: list[str] = []
    while len(names) < count:
        name = draw_full_name(rng)
        if _usable_name(name) and name not in names:
            names.append(name)
    return names


def _company(rng: RowRandom) -> str:
    last = _people(rng, 1)[0].split(" ")[1]
    return f"{last} {rnd.choice(rng, _EnUsCompanies.company_suffixes)}"


def _paraphrase_case(rng: RowRandom) -> tuple[dict[str, Any], str, dict[str, Any]]:
    index = rnd.randbelow(rng, len(FRAMES))
    frame = FRAMES[index]
    p1, p2 = _people(rng, 2)
    slots = {
        "p1": p1, "p2": p2, "company": _company(rng), "city": rnd.choice(rng, CITIES),
        "day": rnd.choice(rng, DAYS), "month": rnd.choice(rng, MONTHS), "n": 2 + rnd.randbelow(rng, 59),
        "item": rnd.choice(rng, ITEMS),
    }
    source, gold = frame.source.format(**slots), frame.paraphrase.format(**slots)
    used = [field for _, field, _, _ in string.Formatter().parse(frame.source) if field]
    entities = [str(slots[field]) for field in dict.fromkeys(used) if field in _ENTITY_SLOTS]
    names = [slots[field] for field in dict.fromkeys(used) if field in _NAME_SLOTS]
    roles = [[slots[agent], relation, slots[patient]] for agent, relation, patient in frame.roles]
    reference = {"source": source, "entities": entities, "names": names, "roles": roles}
    return reference, gold, {"frame": index}


def _with_and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _chime_in(rng: RowRandom, speakers: list[str], lines: list[str]) -> list[tuple[str, str]]:
    """Give each extra speaker a different one of `lines` (at most as many speakers as lines)."""
    return list(zip(speakers, rnd.sample(rng, lines, len(speakers))))


def _dialogue_case(rng: RowRandom, n_people: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Draw a plan and write the dialogue about it and its reference summary."""
    names: list[str] = []
    while len(names) < n_people:  # distinct first names, so the dialogue is unambiguous
        first = _people(rng, 1)[0].split(" ")[0]
        if first not in names:
            names.append(first)
    a, b, *others = names
    plan = rnd.choice(rng, ("meet", "lend", "buy", "reschedule"))
    roles: list[list[str]] = []  # the facts whose two roles a summary could exchange
    day, day2 = rnd.sample(rng, DAYS, 2)
    time = rnd.choice(rng, TIMES)
    if plan == "meet":
        place = rnd.choice(rng, PLACES)
        lines = [(a, f"Are you free on {day}? We could meet at the {place}."), (b, f"Sounds good. How about {time}?")]
        lines += _chime_in(rng, others, [f"Count me in, {time} at the {place} works for me.", "I will be there too!",
                                         f"Perfect, I love the {place}."])
        lines.append((a, f"Great, see you all at the {place} on {day} at {time}!"))
        summary = f"{_with_and(names)} will meet at the {place} on {day} at {time}."
        facts = [place, day]
    elif plan == "lend":
        item = rnd.choice(rng, LENT_ITEMS)
        lines = [(a, f"Hi {b}, could I borrow your {item} until {day}?"), (b, f"Sure, you can have the {item} until {day}.")]
        lines += _chime_in(rng, others, [f"I can bring the {item} over to {a} tonight.",
                                         f"Me too, I will help carry the {item} tonight.", "Happy to help with that tonight."])
        lines.append((a, "Thank you so much!"))
        summary = f"{b} will lend {a} the {item} until {day}."
        if others:
            summary += f" {_with_and(others)} will bring it over tonight."
        facts = [item, day]
        roles = [[b, "lend", a]]
    elif plan == "buy":
        gift = rnd.choice(rng, GIFTS)
        lines = [(a, f"Should we buy a present for our teacher? Her party is on {day}."),
                 (b, f"Yes! What about a {gift}?")]
        lines += _chime_in(rng, others, [f"A {gift} is a lovely idea, I will chip in.", "Great idea, count me in.",
                                         "I will chip in as well."])
        lines.append((a, f"Then I will buy the {gift} before {day}."))
        summary = f"{_with_and(names)} will give their teacher a {gift} at her party on {day}, and {a} will buy it."
        facts = [gift, day]
    else:
        event = rnd.choice(rng, EVENTS)
        lines = [(a, f"Sorry {b}, I cannot make our {event} on {day}. Can we move it to {day2}?"),
                 (b, f"No problem, {day2} at {time} is fine.")]
        lines += _chime_in(rng, others, [f"{day2} at {time} works for me as well.", "Fine with me too.",
                                         f"Good, I prefer {day2} anyway."])
        lines.append((a, f"Thanks, {day2} at {time} it is."))
        summary = f"{_with_and(names)} moved their {event} from {day} to {day2} at {time}."
        facts = [event, day2]
        roles = [[day, "move_to", day2]]
    dialogue = "\n".join(f"{speaker}: {text}" for speaker, text in lines)
    reference = {"dialogue": dialogue, "people": names, "facts": facts, "roles": roles, "summary": summary}
    return reference, summary, {"plan": plan, "n_people": n_people, "turns": len(lines)}


def render_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of a row from its stored reference."""
    if "source" in reference:
        return (
            "Paraphrase the following sentence: keep its full meaning, but express it with different wording and "
            f"structure. Answer with the paraphrase only.\n\nSentence: {reference['source']}"
        )
    return (
        "Summarize the following dialogue in one or two sentences. Name everyone who takes part and the plan they "
        f"agree on. Answer with the summary only.\n\nDialogue:\n{reference['dialogue']}"
    )


def generate(config: TextTaskConfig, rng: RowRandom, index: int) -> Instance:
    """Generate row `index` of a paraphrase or summarization task (see `parallelbench.registry.Generator`)."""
    if config.kind == "paraphrase":
        reference, gold, metadata = _paraphrase_case(rng)
    else:
        low, high = config.n_people
        reference, gold, metadata = _dialogue_case(rng, low + rnd.randbelow(rng, high - low + 1))
    return Instance(
        prompt=render_prompt(reference),
        answer=gold,
        reference=reference,
        output_format="[MASK]",
        n_answers=None,
        metadata={"kind": config.kind, **metadata},
    )


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(name="paraphrase_summarize/paraphrase", config_class=TextTaskConfig, defaults={"kind": "paraphrase"},
             generate=generate, check=validator.check, aliases=("paraphrase_summarize/chatgpt-paraphrases",),
             version=GENERATOR_VERSION),
    TaskSpec(name="paraphrase_summarize/summarize", config_class=TextTaskConfig, defaults={"kind": "summarize"},
             generate=generate, check=validator.check, aliases=("paraphrase_summarize/samsum",),
             version=GENERATOR_VERSION),
)
