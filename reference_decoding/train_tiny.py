"""Train the tiny masked-diffusion transformer on a generated train split of the list-operation tasks, on the CPU.

    python -m parallelbench.reference_decoding.train_tiny --out runs/tiny

The data is the benchmark's own train split (`parallelbench.splits`: seed 2, no input shared with the test or
validation split), `rows_per_task` rows of each task. Training is the masked-diffusion objective: each example masks
every answer slot with the same probability t ~ U(0, 1) (at least one slot), and each masked slot is trained
towards its exact distribution given the shown slots over the row's correct answers (`slot_marginals`: the
oracle's marginal; for a single-answer task simply the gold value). A multi-answer row thus teaches the whole
conditional distribution at once instead of one sampled answer, which is what lets a model this small learn that
a shuffle must not repeat an item in a few minutes on a CPU. The loss averages per example (`masked_diffusion_loss`).
Everything is seeded (torch, numpy, the data) and runs with deterministic algorithms on a fixed number of threads,
so a run is repeatable on one machine.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .. import api
from ..splits import SPLIT_SEEDS, assemble_splits
from ..validators.waiting_line import enumerate_answers
from .masked_lm import left_pad, torch
from .tiny import FAMILIES, TinyConfig, TinyDenoiserModel, TinyVocab, parameter_count, save_tiny

#: Operations with at most this many answers get exact targets by enumeration (the random ones have n or n + 1).
MAX_ENUMERATED = 1000
#: The families the tiny model learns: every operation of the waiting line and of the letter lists.
TRAIN_FAMILIES: tuple[str, ...] = FAMILIES


def train_tasks(families: Sequence[str] = TRAIN_FAMILIES) -> list[str]:
    """Return the registered tasks of `families`."""
    return [task for task in api.tasks() if task.split("/", 1)[0] in families]


def training_rows(tasks: Sequence[str], rows_per_task: int) -> list[dict[str, Any]]:
    """Return the benchmark's train split of `tasks`, `rows_per_task` rows each (no test or validation input).

    Args:
        tasks: Task names.
        rows_per_task: Train rows per task.

    Returns:
        The rows, task by task.
    """
    splits = assemble_splits(tasks, {"test": None, "validation": None, "train": rows_per_task})
    return [row for by_split in splits.values() for row in by_split["train"]]


def slot_marginals(reference: dict[str, Any], gold: Sequence[str], hidden: Sequence[bool]) -> list[dict[str, float]]:
    """Return, for each hidden answer slot, its exact distribution given the shown slots of `gold`.

    The distribution is over the row's correct answers that agree with every shown slot: the oracle's marginal. A
    shuffle counts its completions (any order of the remaining items except the input's own); other operations
    enumerate their few answers; an operation with one answer gives its gold value probability 1.

    Args:
        reference: The row's reference.
        gold: One correct answer (the row's gold), whose shown slots condition the distribution.
        hidden: Per slot, whether it is masked.

    Returns:
        One ``{item: probability}`` per hidden slot, in slot order.
    """
    shown = {slot: value for slot, (value, hide) in enumerate(zip(gold, hidden)) if not hide}
    masked = [slot for slot, hide in enumerate(hidden) if hide]
    if reference["operation"] == "shuffle":
        items = reference["input"]
        remaining = [item for item in items if item not in shown.values()]
        # Completions: the m! orders of the remaining items, less the input itself when it is still reachable.
        identity = all(items[slot] == value for slot, value in shown.items())
        total = math.factorial(len(masked)) - identity
        each = math.factorial(len(masked) - 1)
        return [{item: (each - (identity and item == items[slot])) / total for item in remaining} for slot in masked]
    answers = enumerate_answers(reference, MAX_ENUMERATED)
    consistent = [answer for answer in answers or [tuple(gold)]
                  if len(answer) == len(gold) and all(answer[slot] == value for slot, value in shown.items())]
    marginals = []
    for slot in masked:
        counts = Counter(answer[slot] for answer in consistent)
        marginals.append({item: count / len(consistent) for item, count in counts.items()})
    return marginals


def make_batch(vocab: TinyVocab, examples: Sequence[tuple[dict[str, Any], list[str]]],
               rng: np.random.Generator) -> dict[str, torch.Tensor | None]:
    """Encode examples with fresh name slots, mask their answers at random levels, and left-pad them.

    Args:
        vocab: The vocabulary.
        examples: (reference, gold answer items) pairs.
        rng: Draws name slots, mask levels and masked slots.

    Returns:
        ``input_ids`` (B, S); ``attention_mask`` (B, S), None when no example is padded; ``targets`` (B, S, V): at
        each masked answer slot its exact distribution given the shown slots (`slot_marginals`), zero elsewhere.
    """
    sequences, spots = [], []
    for reference, answer in examples:
        names = vocab.name_slots(reference, rng)
        prompt, answer_ids = vocab.encode(reference, answer, names)
        hidden = rng.random(len(answer_ids)) < rng.random()
        if not hidden.any():
            hidden[rng.integers(len(answer_ids))] = True
        sequences.append(prompt + [vocab.mask_id if hide else token for token, hide in zip(answer_ids, hidden)])
        slots = [len(prompt) + slot for slot in np.flatnonzero(hidden)]
        spots.append((names, list(zip(slots, slot_marginals(reference, answer, hidden)))))
    ids, attention = left_pad(sequences, vocab.pad_id)
    targets = np.zeros((*ids.shape, len(vocab)), dtype=np.float32)
    for row, (sequence, (names, row_spots)) in enumerate(zip(sequences, spots)):
        offset = ids.shape[1] - len(sequence)
        for position, marginal in row_spots:
            for item, probability in marginal.items():
                targets[row, offset + position, vocab.id_of(names.get(item, item))] = probability
    return {
        "input_ids": torch.from_numpy(ids),
        "attention_mask": None if attention.all() else torch.from_numpy(attention),
        "targets": torch.from_numpy(targets),
    }


def length_buckets(vocab: TinyVocab, examples: Sequence[tuple[dict[str, Any], list[str]]]) -> list[np.ndarray]:
    """Group example indices by encoded sequence length, so a batch drawn from one group needs no padding."""
    lengths = np.array([len(vocab.encode(reference, answer, {})[0]) + len(answer) for reference, answer in examples])
    return [np.flatnonzero(lengths == length) for length in np.unique(lengths)]


def masked_diffusion_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the masked slots against their target distributions, averaged per example, then over examples.

    Every example counts the same however many of its slots are masked, which is what LLaDA's 1/t weighting does
    in expectation; it keeps the lightly masked examples, where a slot's value depends most on the revealed ones
    (a shuffle must not repeat an item already written), from being drowned by the heavily masked ones.

    Args:
        logits: (B, S, V) logits.
        targets: (B, S, V) target distributions at masked answer slots, zero rows elsewhere.
    """
    per_slot = -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
    masked = (targets.sum(dim=-1) > 0).sum(dim=1).clamp(min=1)
    return (per_slot.sum(dim=1) / masked).mean()


def _learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@contextmanager
def repeatable_torch(threads: int) -> Iterator[None]:
    """Run with `threads` CPU threads and deterministic algorithms, then restore the caller's settings."""
    previous = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])


def train(out: str | Path, *, steps: int = 6000, batch_size: int = 64, rows_per_task: int = 2000,
          tasks: Sequence[str] | None = None, seed: int = 0, threads: int = 1,
          learning_rate: float = 1e-3, d_model: int = 96, layers: int = 3, heads: int = 4, ff: int = 384,
          log_every: int = 250, quiet: bool = False) -> Path:
    """Train a tiny model and save it to `out` (see `tiny.save_tiny`).

    Args:
        out: Output folder (keep it out of git, e.g. under ``runs/``).
        steps: Optimiser steps.
        batch_size: Examples per step.
        rows_per_task: Train rows generated per task.
        tasks: Tasks to train on (default: every task of `TRAIN_FAMILIES`).
        seed: Seeds the initialisation and the training randomness.
        threads: CPU threads torch may use (results are repeatable for a fixed count).
        learning_rate: Peak AdamW learning rate.
        d_model: Model width.
        layers: Transformer blocks.
        heads: Attention heads.
        ff: Feed-forward width.
        log_every: Print the loss every this many steps.
        quiet: Print nothing.

    Returns:
        The output folder.
    """
    rng = np.random.default_rng(seed)
    task_names = list(tasks) if tasks is not None else train_tasks()
    rows = training_rows(task_names, rows_per_task)
    vocab = TinyVocab.from_rows(rows)
    examples = [(json.loads(row["reference"]), json.loads(row["answer"])) for row in rows]
    buckets = length_buckets(vocab, examples)
    bucket_of = np.empty(len(examples), dtype=np.int64)
    for number, members in enumerate(buckets):
        bucket_of[members] = number
    config = TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id, d_model=d_model,
                        layers=layers, heads=heads, ff=ff)
    with repeatable_torch(threads):
        torch.manual_seed(seed)
        model = TinyDenoiserModel(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
        if not quiet:
            print(f"tiny model: {parameter_count(model):,} parameters, {len(vocab)} tokens; "
                  f"{len(rows):,} train rows from {len(task_names)} tasks")
        started, running = time.perf_counter(), None
        model.train()
        for step in range(steps):
            # One batch = examples of one sequence length (drawn in proportion to its size): no padding to compute.
            members = buckets[bucket_of[rng.integers(len(examples))]]
            batch = make_batch(vocab, [examples[i] for i in rng.choice(members, size=batch_size)], rng)
            logits = model(batch["input_ids"], batch["attention_mask"])
            loss = masked_diffusion_loss(logits, batch["targets"])
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, steps, learning_rate, warmup=max(1, steps // 20))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if not quiet and (step + 1) % log_every == 0:
                print(f"step {step + 1}/{steps}  loss {running:.4f}  {time.perf_counter() - started:.0f}s",
                      flush=True)
        model.eval()
    seconds = time.perf_counter() - started
    facts = {"train_split_seed": SPLIT_SEEDS["train"], "seed": seed, "steps": steps, "batch_size": batch_size,
             "rows_per_task": rows_per_task, "train_rows": len(rows), "tasks": task_names, "threads": threads,
             "parameters": parameter_count(model), "final_loss": running, "train_seconds": round(seconds, 1)}
    folder = save_tiny(model, vocab, out, extra={"training": facts})
    if not quiet:
        print(f"saved to {folder} after {seconds:.0f}s")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m parallelbench.reference_decoding.train_tiny --out runs/tiny``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/tiny", help="output folder (default: runs/tiny, git-ignored)")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rows-per-task", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (a run repeats exactly for a fixed count)")
    parser.add_argument("--tasks", nargs="*",
                        help=f"tasks to train on (default: every {' and '.join(TRAIN_FAMILIES)} task)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    train(args.out, steps=args.steps, batch_size=args.batch_size, rows_per_task=args.rows_per_task, seed=args.seed,
          threads=args.threads, tasks=args.tasks, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
