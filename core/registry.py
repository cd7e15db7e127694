"""The task registry: every task's name, generator, validator and defaults, found by name.

A task family is one generator module that declares its tasks in a module-level ``TASKS`` tuple of `TaskSpec`;
adding a family is one line in `FAMILY_MODULES`. Modules are imported on first use, so `import parallelbench`
stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .rng import RowRandom
from .schema import Score

#: One line per task family: the generator module whose ``TASKS`` declares the family's tasks.
FAMILY_MODULES: tuple[str, ...] = (
    "parallelbench.generators.waiting_line",
    "parallelbench.generators.words_to_sentence",
    "parallelbench.generators.paraphrase_summarize",
    "parallelbench.generators.puzzle",
)


@dataclass
class Instance:
    """What a family generator returns for one row; the core turns it into a full row.

    Attributes:
        prompt: The final user message.
        answer: One gold answer, exactly in the requested output format.
        reference: Everything the validator needs (stored as JSON text in the row).
        output_format: The answer's skeleton with every free slot as ``[MASK]``.
        n_answers: How many distinct answers are correct, or None when that cannot be counted.
        metadata: Family-specific facts for the row's metadata (length, tier, ...).
    """

    prompt: str
    answer: str
    reference: dict[str, Any]
    output_format: str
    n_answers: int | None
    metadata: dict[str, Any] = field(default_factory=dict)


#: ``generate(config, rng, index) -> Instance``
Generator = Callable[[Any, RowRandom, int], Instance]
#: ``check(reference, prediction, strict) -> Score``; never raises on any prediction string.
Checker = Callable[[dict[str, Any], str, bool], Score]
#: ``grade(prediction, strict) -> Score``: a family's check bound to one row's reference (see `TaskSpec.grader`).
Grader = Callable[[Any, bool], Score]
#: ``enumerate_answers(reference, limit) -> every correct answer as a tuple of answer units, or None past limit``
AnswerEnumerator = Callable[[dict[str, Any], int], "list[tuple[str, ...]] | None"]


@dataclass(frozen=True)
class TaskSpec:
    """One registered task.

    Attributes:
        name: ``family/task``, e.g. ``waiting_line/shuffle``.
        config_class: The family's config dataclass; its constructor validates every field.
        defaults: This task's values for config fields (e.g. ``{"operation": "shuffle"}``).
        generate: The family generator.
        check: The family validator.
        enumerate_answers: All correct answers at the level of answer units, where they can be counted.
        rows: How many test rows the published build has.
        aliases: Other names that resolve to this task (e.g. the original release's names).
        version: The generator version; bump it whenever the same seed would give other rows.
        prepare: Optional: ``prepare(reference) -> Grader`` that validates a reference and works out what every
            check of it reads, once; it must grade exactly as `check` does. Worth it where a row is scored many
            times (`score_many` keeps one grader per distinct row).
    """

    name: str
    config_class: type
    defaults: Mapping[str, Any]
    generate: Generator
    check: Checker
    enumerate_answers: AnswerEnumerator | None = None
    rows: int = 100
    aliases: tuple[str, ...] = ()
    version: str = "2"
    prepare: Callable[[dict[str, Any]], Grader] | None = None

    @property
    def family(self) -> str:
        """The part of the name before the slash."""
        return self.name.split("/", 1)[0]

    def grader(self, reference: dict[str, Any]) -> Grader:
        """Return this task's check bound to one reference: ``grade(prediction, strict) -> Score``.

        Raises:
            MalformedRowError: (a `ValueError`) for a reference the family rejects: here when the family has a
                `prepare` step, at the first grade otherwise.
        """
        if self.prepare is not None:
            return self.prepare(reference)
        return functools.partial(self.check, reference)

    @property
    def config_name(self) -> str:
        """The Hub config name: the task name with ``/`` replaced by ``-``."""
        return self.name.replace("/", "-")

    def make_config(self, **params: Any) -> Any:
        """Return this task's config with `params` over its defaults.

        Raises:
            UsageError: (a `ValueError`) for an unknown field, or a value the family's config rejects.
        """
        known = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise UsageError(f"unknown parameter {unknown[0]!r} for task {self.name!r}; known: {', '.join(sorted(known))}")
        try:
            return self.config_class(**{**self.defaults, **params})
        except UsageError:
            raise
        except (ValueError, TypeError) as error:  # a family's config rejects a value: the user's parameter
            raise UsageError(str(error)) from None


_TASKS: dict[str, TaskSpec] = {}
_ALIASES: dict[str, str] = {}


def _load() -> None:
    if _TASKS:
        return
    for module_name in FAMILY_MODULES:
        for spec in importlib.import_module(module_name).TASKS:
            if spec.name in _TASKS:
                raise RuntimeError(f"task {spec.name!r} is registered twice")
            _TASKS[spec.name] = spec
            for alias in (*spec.aliases, spec.config_name):
                if alias != spec.name:
                    _ALIASES[alias] = spec.name


def task_names() -> list[str]:
    """Return every registered task name, sorted."""
    _load()
    return sorted(_TASKS)


def get_task(name: str) -> TaskSpec:
    """Return the task registered under `name` (a task name, an alias, or a Hub config name).

    Raises:
        ValueError: When no task has that name.
    """
    _load()
    spec = _TASKS.get(_ALIASES.get(name, name))
    if spec is None:
        raise UsageError(f"unknown task {name!r}; run `parallelbench tasks` to list them")
    return spec


def task_table_markdown() -> str:
    """Return the task table of the README, made from the registry: one line per family.

    Columns: the family; its tasks with their published test rows; the config values every task of the family
    shares (its defaults, as ``--param`` takes them); the aliases. `tests/test_cli.py` checks that the README holds
    exactly this table, so the README cannot drift from the code.
    """
    _load()
    def natural(name: str) -> list[Any]:  # sudoku_n4_9 before sudoku_n4_10
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]

    families: dict[str, list[TaskSpec]] = {}
    for name in sorted(_TASKS, key=natural):
        families.setdefault(_TASKS[name].family, []).append(_TASKS[name])
    lines = ["| family | tasks (published test rows) | defaults shared by the family | aliases |", "|---|---|---|---|"]
    for family, specs in families.items():
        by_rows: dict[int, list[str]] = {}
        for spec in specs:
            by_rows.setdefault(spec.rows, []).append(f"`{spec.name.split('/', 1)[1]}`")
        tasks = "; ".join(f"{', '.join(names)} ({rows} each)" for rows, names in sorted(by_rows.items()))
        configs = [dataclasses.asdict(spec.make_config()) for spec in specs]
        shared = {key: value for key, value in configs[0].items()
                  if all(key in config and config[key] == value for config in configs)}
        defaults = ", ".join(f"`{key}={json.dumps(value)}`" for key, value in shared.items()) or "-"
        aliases = ", ".join(f"`{alias}`" for spec in specs for alias in spec.aliases) or "-"
        lines.append(f"| `{family}` | {tasks} | {defaults} | {aliases} |")
    return "\n".join(lines) + "\n"
