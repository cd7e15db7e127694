"""Who did what to whom: check that a text states a fact with its roles the right way round.

A generated source sentence or dialogue states facts whose two roles the generator knows, for example "Ann Lee
bought 5 laptops from Smith LLC": Smith LLC sells, Ann Lee buys. The row's reference stores each such fact as
``[agent, relation, patient]`` (here ``["Smith LLC", "sell", "Ann Lee"]``). A paraphrase that keeps every word but
exchanges the two ("Smith LLC bought 5 laptops from Ann Lee") scores high on word overlap and sentence similarity,
so the roles are checked on their own.

Each relation has a list of accepted phrasings (`RELATIONS`): the order of the two roles together with the verb and
the preposition or voice that connects them ("{agent} ... sold ... to {patient}", "{patient} ... bought ... from
{agent}", "... sold to {patient} by {agent}"). A phrasing matches on the text's lowercase word tokens; ``...`` stands
for up to `MAX_GAP` words that include neither role nor the word "by" (which marks the doer in the passive voice:
"{agent} ... sold ... to {patient}" must not match "Ann was sold ... by ..."). A fact is

- ``kept`` when some phrasing matches with the roles as stored and none matches with them exchanged,
- ``swapped`` when a phrasing matches only with the roles exchanged,
- ``ambiguous`` when phrasings match both ways,
- ``unstated`` when no phrasing matches either way.

The phrasings are few and explicit: they recognise the usual ways of stating each relation, not every one, so a
caller decides what ``unstated`` means (a paraphrase must state the fact; a summary may use pronouns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..scoring.overlap import overlap_tokens

#: The most words a ``...`` in a phrasing stands for.
MAX_GAP = 8

_SELL = "(?:sold|sell|sells|selling|supplied|supplies|supply|delivered|delivers|deliver|shipped|ships|ship|provided|provides|provide)"
_BUY = "(?:bought|buy|buys|buying|purchased|purchase|purchases|purchasing|acquired|acquire|acquires|ordered|order|orders)"
_WRITE = "(?:wrote|write|writes|writing|written|prepared|prepare|prepares|authored|drafted|produced|compiled|created)"
_WORK = "(?:worked|work|works|working|employed|served|serves|been|spent|spends|job|position|career)"
_EMPLOY = "(?:employed|employs|employ|employing|hired|hires|hire|hiring)"
_DRIVE = "(?:drive|drives|driving|drove|take|takes|taking|took|bring|brings|bringing|brought|give|gives|giving|gave|pick|picks|picking|picked|carry|carries|carried)"
_DRIVEN = "(?:driven|taken|brought|picked|given|carried)"
_OPEN = "(?:open|opens|opening|opened|launch|launches|launching|launched|establish|establishes|establishing|established|set|sets|setting|start|starts|starting|started|add|adds|adding|added)"
_OPENED = "(?:opened|launched|established|started|set)"
_LEND = "(?:lend|lends|lending|lent|loan|loans|loaning|loaned|give|gives|giving|gave|pass|passes|passing|passed)"
_LENT = "(?:lent|loaned|given|passed)"
_BORROW = "(?:borrow|borrows|borrowing|borrowed|use|uses|using|keep|keeps|keeping|have|has|having|get|gets|getting)"
_MOVE = "(?:moved|move|moves|moving|changed|change|changes|changing|rescheduled|reschedule|reschedules|rescheduling|pushed|push|shifted|shift|postponed|postpone|switched|switch)"

#: For each relation, its accepted phrasings: ``{a}`` is the agent, ``{p}`` the patient, ``...`` a gap.
RELATIONS: dict[str, tuple[str, ...]] = {
    # agent sells to patient (= patient buys from agent)
    "sell": (
        f"{{a}} ... {_SELL} ... to {{p}}",
        f"{{p}} ... {_BUY} ... from {{a}}",
        f"{_SELL} ... to {{p}} by {{a}}",
        f"{_SELL} by {{a}} ... to {{p}}",
        f"{_BUY} by {{p}} ... from {{a}}",
        f"{_BUY} from {{a}} by {{p}}",
        f"from {{a}} {{p}} ... {_BUY}",
        f"to {{p}} {{a}} ... {_SELL}",
        f"{{a}} ... {_SELL} {{p}}",
        f"{{p}} ... (?:got|obtained|received)(?! an offer| offers| an? bid) ... from {{a}}",
        f"{{a}} ... (?:seller|supplier|vendor) ... {{p}}",
        f"{{a}} ... accepted ... offer ... from {{p}}",
        f"{{p}} ... (?:paid|pays|pay) {{a}}",
        f"{{p}} ... (?:offer|offers|offered) ... to {{a}}",
    ),
    # agent writes something for patient
    "write_for": (
        f"{{a}} ... {_WRITE} ... for {{p}}",
        f"{_WRITE} by {{a}}",
        f"{{a}} s (?:report|work)",
    ),
    # agent works for patient (= patient employs agent)
    "work_for": (
        f"{{a}} ... {_WORK} ... (?:at|for|by|with) {{p}}",
        f"{{p}} ... {_EMPLOY} ... {{a}}",
        f"{{a}} ... (?:joined|join|joins) {{p}}",
        f"having {_WORK} ... (?:at|for|by|with) {{p}} ... {{a}}",
        f"{{p}} (?:employee|worker|staff member) {{a}}",
        f"{{a}} ... (?:employee|member|staff) ... (?:of|at) {{p}}",
    ),
    # agent drives patient somewhere
    "drive": (
        f"{{a}} ... {_DRIVE} ... {{p}}",
        f"{{p}} ... {_DRIVEN} ... by {{a}}",
        f"{{p}} ... (?:ride|lift) ... (?:from|with) {{a}}",
    ),
    # agent opens something in patient (a place)
    "open_in": (
        f"{{a}} ... {_OPEN} ... (?:in|at) {{p}}",
        f"{{a}} ... {_OPEN} ... {{p}} (?:office|branch|location|site)",
        f"in {{p}} {{a}} ... {_OPEN}",
        f"in {{p}} ... {_OPENED} by {{a}}",
    ),
    # agent lends something to patient (= patient borrows from agent)
    "lend": (
        f"{{a}} ... {_LEND} ... {{p}}",
        f"{{p}} ... {_BORROW} ... from {{a}}",
        f"{{p}} ... {_BORROW} {{a}} s",
        f"{_LENT} to {{p}} by {{a}}",
        f"{{p}} ... {_LENT} ... by {{a}}",
        f"{{a}} ... (?:let|lets|letting|allow|allows|allowed|agreed|agrees) ... {{p}} ... {_BORROW}",
        f"{{p}} ... (?:asked|asks|ask) {{a}} ... (?:lend|loan|borrow)",
    ),
    # an event moves from the agent (a day) to the patient (another day)
    "move_to": (
        f"from {{a}} to {{p}}",
        f"to {{p}} from {{a}}",
        f"{{p}} (?:instead of|rather than) {{a}}",
        f"{_MOVE} ... (?:to|until|till) {{p}}",
    ),
}

#: The verdicts a fact can get.
KEPT, SWAPPED, AMBIGUOUS, UNSTATED = "kept", "swapped", "ambiguous", "unstated"


@dataclass(frozen=True)
class RoleVerdict:
    """How a text states one fact.

    Attributes:
        fact: The fact as stored, ``(agent, relation, patient)``.
        verdict: ``kept``, ``swapped``, ``ambiguous`` or ``unstated``.
    """

    fact: tuple[str, str, str]
    verdict: str

    def describe(self) -> str:
        """Return the fact and its verdict in words, e.g. ``"Smith LLC sell Ann Lee: swapped"``."""
        agent, relation, patient = self.fact
        return f"{agent} {relation} {patient}: {self.verdict}"


def _normalized(text: str) -> str:
    return " ".join(overlap_tokens(text))


#: The placeholders that stand for the two roles in the text once they are found (tokens never hold "@").
_AGENT, _PATIENT = "@a", "@p"
#: A run of 0 to MAX_GAP tokens, none of them a role or "by".
_GAP = rf"(?:(?! (?:{_AGENT}|{_PATIENT}|by) ) \S+){{0,{MAX_GAP}}}"


def _compile(phrasing: str) -> re.Pattern[str]:
    """Compile a phrasing into a pattern over " token token ... " with the roles replaced by placeholders."""
    pieces = []
    for piece in phrasing.split(" "):
        if piece == "...":
            pieces.append(_GAP)
        else:
            pieces.append(" " + piece.replace("{a}", _AGENT).replace("{p}", _PATIENT))
    return re.compile("".join(pieces) + "(?= )")


_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    relation: tuple(_compile(phrasing) for phrasing in phrasings) for relation, phrasings in RELATIONS.items()
}


def _with_roles(tokens: str, agent: str, patient: str) -> str:
    """Replace every whole-token occurrence of `agent` and `patient` in `tokens` by the placeholders."""
    for name, placeholder in sorted(((agent, _AGENT), (patient, _PATIENT)), key=lambda item: -len(item[0])):
        tokens = re.sub(rf"(?<= ){re.escape(name)}(?= )", placeholder, tokens)
    return tokens


def _states(tokens: str, relation: str, agent: str, patient: str) -> bool:
    text = _with_roles(tokens, agent, patient)
    return any(pattern.search(text) for pattern in _PATTERNS[relation])


def judge_fact(text: str, fact: tuple[str, str, str] | list[str]) -> RoleVerdict:
    """Return how `text` states `fact`: kept, swapped, ambiguous or unstated.

    Args:
        text: The prediction.
        fact: ``(agent, relation, patient)``; the relation is a key of `RELATIONS`.

    Returns:
        The `RoleVerdict`.

    Raises:
        ValueError: For a fact that is not three strings, a role without a letter or digit, or a relation that
            `RELATIONS` does not know.
    """
    if len(fact) != 3 or not all(isinstance(part, str) for part in fact):
        raise ValueError(f"a role fact is [agent, relation, patient]; got {fact!r}")
    agent, relation, patient = fact
    if relation not in RELATIONS:
        raise ValueError(f"unknown role relation {relation!r}; known: {', '.join(sorted(RELATIONS))}")
    a, p = _normalized(agent), _normalized(patient)
    if not a or not p:
        raise ValueError(f"a role fact names its agent and patient with letters or digits; got {fact!r}")
    tokens = f" {_normalized(text)} "
    forward, backward = _states(tokens, relation, a, p), _states(tokens, relation, p, a)
    verdict = {(True, False): KEPT, (False, True): SWAPPED, (True, True): AMBIGUOUS}.get((forward, backward), UNSTATED)
    return RoleVerdict((agent, relation, patient), verdict)


def judge_roles(text: str, facts: list[list[str]]) -> list[RoleVerdict]:
    """Return the verdict of every fact in `facts` (see `judge_fact`)."""
    return [judge_fact(text, fact) for fact in facts]
