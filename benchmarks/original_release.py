"""Baseline for `benchmarks/generate.py`: the original ParallelBench release's waiting-line generator, re-done.

This file re-implements the *procedure and cost profile* of the first public release of
github.com/furiosa-ai/ParallelBench (October 2025) for the 10 waiting-line tasks, so that our generator can be timed
side by side with it on the same workload. It is written from a reading of the original, not copied from it, and it
is never imported by the `parallelbench` package.

Which files of the original it mirrors (repository furiosa-ai/ParallelBench; the closest stored version of that
generator is ``parallelbench/dataset/`` at commits bd90e939 and 0c43eedf: 0-based positions, duplicate checks on
every edited line, and one-shot examples from a second generation pass; later versions take a fixed example from
the task config instead):
- ``task.py``: one ``random.Random`` per task, seeded from the sha256 of the task's short
  name (``copy``, ``insert_index``, ...) plus 42, modulo 2**16 - 1; one generator per task type (copy, insert, remove,
  replace, reverse, shuffle, sort) yielding ``{"input", "answer", "output_format", "metadata"}`` dicts; rows drawn
  with random lengths and kept per length until every length holds its share (surplus draws are thrown away); then a
  second, full pass of ``num_samples`` rows from the same RNG whose i-th row becomes row i's one-shot example
  (``input["icl_examples"]``); then ``pandas.DataFrame(rows).to_json(orient="records", lines=True)`` per task, and
  ``task_config.yaml`` beside it read, updated and dumped again after every task.
- ``task_utils.py`` and ``task_generators.py``: the names file is YAML ``[first names, last names]`` and every load
  expands it to the cartesian product of full names; lists become text by appending tokens in a Python loop;
  ``rng.randint`` picks a length, ``rng.sample`` the names, ``rng.choice`` over ``list_difference(all names, line)``
  (a full pass over the vocabulary on every insert and replace row) the new person, ``rng.randint`` the position;
  shuffle calls ``rng.shuffle`` until the order differs.
- the waiting-line task configs (``task_configs/test/waiting_line*.yaml``): 100 rows, 25 per length, lengths 3 to 6,
  one one-shot example, and the prompt templates in `PROMPTS`.
- ``__init__.py`` (``ParallelBench.__getitem__``): prompts are made when a row is *read*:
  ``template.format(**row["input"])``, with the example's user and assistant turns before it (see `render_messages`).

What it leaves out, and why:
- Faker. The original does not call Faker: its names come from a list of first and last names generated with
  Gemini 2.5 Pro (paper, appendix C), stored as ``first_last_names.yaml``, a file the stored copy of the repository
  does not hold. `write_names_file` writes a stand-in of the same shape from the most frequent en_US first and last
  names of Faker's tables. Its size matters to the cost, because insert and replace rows scan the whole pool. The
  default, 87 first x 185 last names (16,095 full names), is estimated from the original's own published evaluation
  logs (``results/.../samples_parallelbench_waiting_line_*.jsonl``): 210 input names there hold 79 distinct first
  and 126 distinct last names, and a uniform draw of 210 from 87 (185) names shows 79 (126) distinct ones on
  average; the 95% ranges are about 82-98 first and 160-240 last names. Those logs come from a later release of
  the data, which may use another names file. ``first_names`` and ``last_names`` change it.
- Prompt rendering is not part of the original generator (it runs at read time), so `run` leaves it out unless
  ``render=True``; leaving it out makes the baseline faster, so ratios against it are conservative.
- Console output: the original prints a line per task and a tqdm counter; here they go to a throw-away buffer.
- Every other task family, the metrics, the evaluation code and the CLI: not part of this workload.
- The original's defects (0-based positions in prompts, sort by first name) are reproduced as they are: this is a
  cost baseline, not a reference for correct data.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm import tqdm

#: The original's task configs: short name -> (generator type, random position?).
TASK_TYPES: dict[str, tuple[str, bool]] = {
    "copy": ("copy", False),
    "insert_index": ("insert", False),
    "insert_random": ("insert", True),
    "remove_index": ("remove", False),
    "remove_random": ("remove", True),
    "replace_index": ("replace", False),
    "replace_random": ("replace", True),
    "reverse": ("reverse", False),
    "shuffle": ("shuffle", False),
    "sort": ("sort", False),
}

_DESK = "You are managing a waiting line at a customer service desk.\n\n"

#: The original's prompt templates (filled from a row's ``input`` when the row is read).
PROMPTS: dict[str, str] = {
    "copy": _DESK + "You need to record the following people in the order they arrived:\n\n{context}\n\n"
    "Please copy the list exactly and provide only the final list.",
    "insert_index": _DESK + 'A new person "{word}" is inserted into the line at position {index}:\n\n{context}\n\n'
    "Please put the new person at the specified position and provide only the final list.",
    "insert_random": _DESK + 'A new person "{word}" is inserted into the line at a random position:\n\n{context}\n\n'
    "Please put the new person in the random position and provide only the final list.",
    "remove_index": _DESK + "The person at position {index} has left the waiting line:\n\n{context}\n\n"
    "Please remove the person at the specified position and provide only the final list.",
    "remove_random": _DESK + "One person has left the waiting line:\n\n{context}\n\n"
    "Please remove a random person and provide only the final list.",
    "replace_index": _DESK + 'The person at position {index} must be replaced with "{word}":\n\n{context}\n\n'
    'Please replace the person at the specified position with "{word}" and provide only the final list.',
    "replace_random": _DESK + 'One person in the waiting line must be replaced with "{word}":\n\n{context}\n\n'
    'Please replace one random person with "{word}" and provide only the final list.',
    "reverse": _DESK + "The previous staff member put the waiting line in the wrong order.\n\n"
    "Please reverse the order of the following people in the waiting line to correct it:\n\n{context}\n\n"
    "Please reverse the order of the list and provide only the final list.",
    "shuffle": _DESK + "The waiting line should be randomly shuffled to ensure fair service distribution:\n\n"
    "{context}\n\nPlease randomly shuffle the list and provide only the final list.\n\n"
    "Ensure the sequence is different from the original.",
    "sort": _DESK + "The following people should be organized alphabetically by last name for efficient processing:"
    "\n\n{context}\n\nPlease sort the list in alphabetical order and provide only the final list.",
}

MIN_LENGTH, MAX_LENGTH = 3, 6
MASK = "[MASK]"
NAMES_FILE = "first_last_names.yaml"


#: The estimated size of the original's names file (see the module docstring): first names, last names.
POOL = (87, 185)


def write_names_file(folder: Path, first_names: int = POOL[0], last_names: int = POOL[1]) -> Path:
    """Write the stand-in names file: YAML ``[first names, last names]``, the most frequent en_US names of each.

    Args:
        folder: Where to write ``first_last_names.yaml``.
        first_names: How many first names.
        last_names: How many last names (the pool holds ``first_names * last_names`` full names).

    Returns:
        The file's path.
    """
    from faker.providers.person.en_US import Provider

    def most_frequent(table: dict[str, float], count: int) -> list[str]:
        return [name for name, _ in sorted(table.items(), key=lambda item: (-item[1], item[0]))[:count]]

    path = Path(folder) / NAMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump([most_frequent(Provider.first_names, first_names),
                                    most_frequent(Provider.last_names, last_names)]))
    return path


def load_names(path: Path) -> list[str]:
    """Read the names file and expand it to every "First Last" pair, as the original does on each task."""
    with open(path) as handle:
        parts = yaml.safe_load(handle)
    return [" ".join(pair) for pair in itertools.product(*parts)]


def task_seed(short_name: str, offset: int = 42) -> int:
    """The original's per-task seed: sha256 of the short task name, plus an offset, modulo 2**16 - 1."""
    return (int(hashlib.sha256(short_name.encode()).hexdigest(), 16) + offset) % (2**16 - 1)


def list_text(items: list[Any]) -> str:
    """Render a list as ``["a", "b"]`` by appending tokens one by one (no escaping), like the original."""
    pieces = ['["']
    for item in items:
        pieces.append(str(item))
        pieces.append('", "')
    pieces[-1] = '"]'
    return "".join(pieces)


def _others(names: list[str], taken: list[str]) -> list[str]:
    taken_set = set(taken)
    return [name for name in names if name not in taken_set]


def _different_order(rng: random.Random, items: list[str]) -> list[str]:
    order = items[:]
    while order == items:
        rng.shuffle(order)
    return order


def draw_rows(rng: random.Random, kind: str, random_index: bool, names: list[str], count: int) -> Iterator[dict]:
    """Yield `count` rows of one task type, each on a fresh line of random length (3 to 6 names).

    Args:
        rng: The task's RNG (shared by every row, so rows depend on all rows drawn before them).
        kind: copy, insert, remove, replace, reverse, shuffle or sort.
        random_index: Whether the position is left to the model (the ``*_random`` tasks).
        names: Every full name.
        count: How many rows.
    """
    for _ in range(count):
        line = rng.sample(names, rng.randint(MIN_LENGTH, MAX_LENGTH))
        context = list_text(line)
        metadata: dict[str, Any] = {"length": len(line)}
        row: dict[str, Any] = {"input": {"context": context}}
        if kind in ("copy", "reverse", "sort"):
            result = line if kind == "copy" else list(reversed(line)) if kind == "reverse" else sorted(line)
            row["answer"] = list_text(result)
            if kind == "copy":
                row["output_format"] = list_text([MASK] * len(line))
        elif kind == "shuffle":
            row["answer"] = {"input": line, "example": list_text(_different_order(rng, line))}
            row["output_format"] = list_text([MASK] * len(line))
        else:
            if kind == "remove":
                position = rng.randint(0, len(line) - 1)
                result = line[:position] + line[position + 1:]
                word = None
            else:
                word = rng.choice(_others(names, line))
                row["input"]["word"] = word
                metadata["word"] = word
                result = line[:]
                if kind == "insert":
                    position = rng.randint(0, len(line))
                    result.insert(position, word)
                else:
                    position = rng.randint(0, len(line) - 1)
                    result[position] = word
                row["output_format"] = list_text([MASK] * len(result))
            assert len(set(result)) == len(result), "no name may appear twice"
            if random_index:
                position = None
                row["answer"] = {"input": line, "example": list_text(result)}
                if word is not None:
                    row["answer"] = {"input": line, "word": word, "example": list_text(result)}
            else:
                row["input"]["index"] = position  # 0-based, as in the original
                row["answer"] = list_text(result)
            metadata["index"] = position
        row["metadata"] = metadata
        yield row


def _bucketed_rows(rng: random.Random, kind: str, random_index: bool, names: list[str], num_samples: int,
                   per_length: int, log: io.StringIO) -> list[dict]:
    """Draw rows until every length holds `per_length` of them; return them ordered by length."""
    n_lengths = MAX_LENGTH - MIN_LENGTH + 1
    if num_samples != per_length * n_lengths:
        raise ValueError(f"num_samples ({num_samples}) must be samples_per_length x {n_lengths} lengths")
    by_length: dict[int, list[dict]] = {}
    for row in tqdm(draw_rows(rng, kind, random_index, names, 10**10), file=log):
        bucket = by_length.setdefault(row["metadata"]["length"], [])
        if len(bucket) < per_length:
            bucket.append(row)
        if sum(len(rows) == per_length for rows in by_length.values()) == n_lengths:
            break
    return [row for length in sorted(by_length) for row in by_length[length]]


def generate_task(short_name: str, names: list[str], num_samples: int, per_length: int,
                  log: io.StringIO | None = None) -> list[dict]:
    """Make one task's rows as the original does: length buckets, then a second pass of one-shot examples.

    Args:
        short_name: A key of `TASK_TYPES`.
        names: Every full name.
        num_samples: Rows to keep (must equal ``per_length`` times the number of lengths).
        per_length: Rows per list length.
        log: Where progress output goes (a throw-away buffer by default).

    Returns:
        The rows, each with its one-shot example in ``input["icl_examples"]``.
    """
    log = log if log is not None else io.StringIO()
    seed = task_seed(short_name)
    print(f"Creating task waiting_line/{short_name} with seed {seed}...", file=log)
    rng = random.Random(seed)
    kind, random_index = TASK_TYPES[short_name]
    rows = _bucketed_rows(rng, kind, random_index, names, num_samples, per_length, log)
    examples = list(draw_rows(rng, kind, random_index, names, num_samples))
    for row, example in zip(rows, examples):
        row["input"]["icl_examples"] = [example]
    return rows


def render_messages(row: dict, template: str) -> list[dict[str, str]]:
    """The chat messages the original builds when a row is read: example turns, then the filled template."""
    messages = []
    for example in row["input"].get("icl_examples", []):
        answer = example["answer"] if isinstance(example["answer"], str) else example["answer"]["example"]
        messages.append({"role": "user", "content": template.format(**example["input"]).replace("\\n", "\n")})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": template.format(**row["input"]).replace("\\n", "\n")})
    return messages


def write_task(rows: list[dict], out_dir: Path, short_name: str, config: dict[str, Any]) -> Path:
    """Write one task as the original does: JSON lines through pandas, and its entry in ``task_config.yaml``."""
    path = Path(out_dir) / "test" / "waiting_line" / f"{short_name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    config_path = path.parent / "task_config.yaml"
    configs = {}
    if config_path.exists():
        with open(config_path) as handle:
            configs = yaml.safe_load(handle) or {}
    configs[f"waiting_line/{short_name}"] = config
    with open(config_path, "w") as handle:
        yaml.dump(configs, handle)
    return path


def run(out_dir: Path, names_file: Path, num_samples: int, render: bool = False,
        tasks: tuple[str, ...] = tuple(TASK_TYPES)) -> int:
    """Generate and write every waiting-line task the original's way.

    Args:
        out_dir: Output folder (``test/waiting_line/<task>.jsonl`` and ``task_config.yaml`` go under it).
        names_file: The names file from `write_names_file`.
        num_samples: Rows per task (a multiple of the 4 lengths).
        render: Also build each row's chat messages, as the original's reader does, and store them in the row.
        tasks: Which short task names.

    Returns:
        How many rows were written.
    """
    written = 0
    log = io.StringIO()
    for short_name in tasks:
        kind, random_index = TASK_TYPES[short_name]
        names = load_names(names_file)  # the original reloads and expands the names file for every task
        per_length = num_samples // (MAX_LENGTH - MIN_LENGTH + 1)
        rows = generate_task(short_name, names, num_samples, per_length, log)
        if render:
            for row in rows:
                row["messages"] = render_messages(row, PROMPTS[short_name])
        config = {
            "name": f"waiting_line/{short_name}", "type": kind, "random_index": random_index,
            "prompt": PROMPTS[short_name], "words": NAMES_FILE, "num_samples": num_samples,
            "samples_per_length": per_length, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH,
            "icl_example_count": 1, "seed": task_seed(short_name),
        }
        write_task(rows, out_dir, short_name, config)
        written += len(rows)
    return written
