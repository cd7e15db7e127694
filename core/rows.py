"""Turning a task's generated cases into rows: the gold self-check, the one-shot examples, the shared columns.

A row's own case comes from its stream ``(task, seed, index)``. Its one-shot examples come from the task's example
pool: `EXAMPLE_POOL` examples per (task, seed, parameters), example ``j`` made by the same generator from the stream
``(task, seed, "example", j)`` and checked like a row. A row picks its examples with its own stream (after its case)
and never one that asks its own question. Every family gets its examples this way; a family opts in by giving its
config an ``n_shots`` field. A process makes each pool example at most once, so a row's examples cost a lookup
however many rows share them; rows remain a pure function of (task, seed, index, parameters).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import orjson

from . import rng as rnd
from .registry import Instance, TaskSpec
from .schema import CANARY

#: One-shot examples per (task, seed, parameters). Changing it changes which example every row shows.
EXAMPLE_POOL = 256
#: Example draws a row may make per example it needs before its task is declared too small to have examples.
MAX_DRAWS_PER_EXAMPLE = 64


class GenerationError(RuntimeError):
    """A generated gold answer failed its own validator (a bug in a generator or a validator), or a task's input
    space is too small to give a row examples that differ from it."""


@lru_cache(maxsize=8)
def _example_pool(task: str, config: Any, seed: int) -> dict[int, tuple[str, str]]:
    """The examples of one (task, config, seed) made so far in this process: number -> (prompt, answer)."""
    return {}


class RowMaker:
    """Makes the rows of one task under one config and seed, in any order, one index at a time.

    Args:
        spec: The task.
        config: The task's config (from `TaskSpec.make_config`).
        seed: The split's seed.
    """

    def __init__(self, spec: TaskSpec, config: Any, seed: int) -> None:
        self.spec, self.config, self.seed = spec, config, seed
        self.family = spec.family
        self.n_shots: int = getattr(config, "n_shots", 0)
        shared = {"params": asdict(config), "generator_version": spec.version, "canary": CANARY}
        # The JSON members every row shares and the closing brace, appended to each row's own metadata as text.
        self._metadata_tail = orjson.dumps(shared, option=orjson.OPT_SORT_KEYS)[1:].decode()
        self._examples = _example_pool(spec.name, config, seed)

    def _checked(self, instance: Instance, what: str, number: int) -> Instance:
        verdict = self.spec.check(instance.reference, instance.answer, True)
        if not verdict.correct:
            raise GenerationError(f"{self.spec.name} seed={self.seed} {what}={number}: gold answer fails its "
                                  f"validator ({verdict.reason})")
        return instance

    def example(self, number: int) -> tuple[str, str]:
        """Return example `number` of the pool as (prompt, gold answer)."""
        made = self._examples.get(number)
        if made is None:
            rng = rnd.example_rng(self.spec.name, self.seed, number)
            instance = self._checked(self.spec.generate(self.config, rng, number), "example", number)
            made = self._examples[number] = (instance.prompt, instance.answer)
        return made

    def _pick_examples(self, rng: rnd.RowRandom, prompt: str) -> list[int]:
        picks: list[int] = []
        draws = 0
        while len(picks) < self.n_shots:
            if draws == MAX_DRAWS_PER_EXAMPLE * self.n_shots:
                raise GenerationError(f"{self.spec.name}: cannot find {self.n_shots} one-shot examples that differ "
                                      f"from the row; use fewer shots or a larger input space")
            draws += 1
            number = rnd.randbelow(rng, EXAMPLE_POOL)
            if number not in picks and self.example(number)[0] != prompt:
                picks.append(number)
        return picks

    def row(self, index: int) -> dict[str, Any]:
        """Generate row `index`, with its gold answer checked by its own validator.

        Returns:
            One row with exactly the columns of `parallelbench.schema.ROW_SCHEMA`.

        Raises:
            GenerationError: When a gold answer (the row's or an example's) fails its own validator.
        """
        spec = self.spec
        rng = rnd.instance_rng(spec.name, self.seed, index)
        instance = self._checked(spec.generate(self.config, rng, index), "index", index)
        picks = self._pick_examples(rng, instance.prompt)
        messages = []
        for number in picks:
            prompt, answer = self.example(number)
            messages.append({"role": "user", "content": prompt})
            messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": instance.prompt})
        reference = orjson.dumps(instance.reference)
        own_members = orjson.dumps(instance.metadata)[1:-1].decode()  # the family's metadata without its braces
        metadata = (f'{{{own_members}{"," if own_members else ""}"examples":[{",".join(map(str, picks))}],'
                    f"{self._metadata_tail}")
        return {
            "id": f"{spec.name}:{self.seed}:{index}:{hashlib.sha256(reference).hexdigest()[:10]}",
            "task": spec.name,
            "family": self.family,
            "seed": self.seed,
            "index": index,
            "prompt": instance.prompt,
            "messages": messages,
            "answer": instance.answer,
            "reference": reference.decode(),
            "output_format": instance.output_format,
            "n_answers": instance.n_answers,
            "metadata": metadata,
            "difficulty": "{}",
        }
