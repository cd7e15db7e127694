"""The tiny masked-diffusion model: its vocabulary, its padding blindness, and a short real training run."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import parallelbench as pb  # noqa: E402
from parallelbench.splits import SPLIT_SEEDS  # noqa: E402
from parallelbench.reference_decoding import engine  # noqa: E402
from parallelbench.reference_decoding.masked_lm import MaskedLMDenoiser  # noqa: E402
from parallelbench.reference_decoding.neural import run_model_on_rows  # noqa: E402
from parallelbench.reference_decoding.tiny import (  # noqa: E402
    TinyConfig,
    TinyDenoiserModel,
    TinyVocab,
    load_tiny,
    row_rng,
    tiny_masked_lm,
)
from parallelbench.reference_decoding.train_tiny import main, train, training_rows  # noqa: E402

TASKS = ("waiting_line/sort", "waiting_line/insert_index", "list_ops/replace_random", "waiting_line_n15/shuffle")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [row for task in TASKS for row in pb.generate(task, n=6, seed=0)]


@pytest.fixture(scope="module")
def vocab(rows: list[dict]) -> TinyVocab:
    return TinyVocab.from_rows(rows)


def test_one_list_item_is_one_token_and_gold_answers_round_trip(rows: list[dict], vocab: TinyVocab) -> None:
    for row in rows:
        reference, gold = json.loads(row["reference"]), json.loads(row["answer"])
        names = vocab.name_slots(reference, row_rng(row))
        prompt, answer = vocab.encode(reference, gold, names)
        assert len(answer) == len(gold) == len(json.loads(row["output_format"]))
        assert len(prompt) == 6 + len(reference["input"])
        assert vocab.ids["[UNK]"] not in prompt + answer
        assert pb.score(row, json.dumps(vocab.decode(answer, names)), strict=True).correct


def test_name_slots_follow_the_sort_order_and_depend_only_on_the_row(rows: list[dict], vocab: TinyVocab) -> None:
    for row in rows:
        reference = json.loads(row["reference"])
        names = vocab.name_slots(reference, row_rng(row))
        assert names == vocab.name_slots(reference, row_rng(row))
        if reference["vocabulary"] == "names":
            people = sorted(names, key=lambda name: (name.rpartition(" ")[2], name.rpartition(" ")[0]))
            slots = [int(names[person].split(":")[1]) for person in people]
            assert slots == sorted(slots) and len(set(slots)) == len(slots)


def test_items_never_seen_in_training_become_unknown(vocab: TinyVocab) -> None:
    assert vocab.id_of("zebra") == vocab.ids["[UNK]"]
    assert vocab.id_of("A") != vocab.ids["[UNK]"]


def test_the_model_is_blind_to_left_padding(vocab: TinyVocab) -> None:
    torch.manual_seed(0)
    model = TinyDenoiserModel(TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id,
                                         d_model=32, layers=2, heads=2, ff=64)).eval()
    lm = tiny_masked_lm(model, vocab)
    prompts = [[5, 20, 3, 3, vocab.sep_id, 70, 71, 72, vocab.sep_id], [6, 20, 3, 3, vocab.sep_id, 73, vocab.sep_id]]
    tokens, masked = np.zeros((2, 3), dtype=np.int64), np.ones((2, 3), dtype=bool)
    batched = MaskedLMDenoiser(lm, prompts, 3).slot_logits(tokens, masked)
    alone = MaskedLMDenoiser(lm, prompts[1:], 3).slot_logits(tokens[1:], masked[1:])
    torch.testing.assert_close(batched[1], alone[0], atol=1e-5, rtol=1e-5)


def test_structure_tokens_are_blocked_so_every_slot_is_a_list_item(vocab: TinyVocab, rows: list[dict]) -> None:
    torch.manual_seed(1)
    model = TinyDenoiserModel(TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id,
                                         d_model=16, layers=1, heads=2, ff=32))
    lm = tiny_masked_lm(model, vocab)
    row = rows[0]
    result = engine.decode(MaskedLMDenoiser(lm, [lm.encode(row)], lm.answer_length(row)), 1, lm.answer_length(row),
                           tokens_per_step=2, temperature=1.0, seed=0)
    assert (result.tokens >= vocab.first_item).all()
    assert isinstance(json.loads(lm.answer_text(row, result.tokens[0])), list)


def test_the_model_trains_on_the_benchmarks_train_split_without_test_inputs() -> None:
    test_inputs = {row["reference"] for row in pb.generate("list_ops/copy", seed=0)}
    train_rows = training_rows(["list_ops/copy"], 300)
    assert len(train_rows) == 300 and {row["seed"] for row in train_rows} == {SPLIT_SEEDS["train"]}
    assert not {row["reference"] for row in train_rows} & test_inputs


SMALL = dict(tasks=["list_ops/copy"], rows_per_task=400, d_model=64, layers=2, heads=2, ff=128, batch_size=32,
             learning_rate=3e-3, threads=1, quiet=True)


def test_a_short_training_run_copies_far_better_than_chance(tmp_path) -> None:
    folder = train(tmp_path / "tiny", steps=250, **SMALL)
    model = load_tiny(folder)
    rows = pb.generate("list_ops/copy", n=30, seed=0, length=(3, 5), rows_per_length=10)
    (point,) = run_model_on_rows(rows, model, tokens_per_step=(1,), rule="confidence", temperature=0.0,
                                 batch_size=16)
    # Chance is at most 1 / (26 * 25 * 24) per row for a copy of 3 distinct letters.
    assert point.accuracy >= 0.5
    facts = json.loads((folder / "tiny_config.json").read_text())["training"]
    assert facts["steps"] == 250 and facts["tasks"] == ["list_ops/copy"]


def test_training_is_seeded(tmp_path) -> None:
    weights = []
    for name in ("a", "b"):
        folder = train(tmp_path / name, steps=5, **SMALL)
        weights.append(torch.load(folder / "tiny_weights.pt", weights_only=True))
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_the_command_line_trains_and_saves(tmp_path, capsys) -> None:
    assert main(["--out", str(tmp_path / "cli"), "--steps", "2", "--rows-per-task", "20", "--tasks", "list_ops/sort",
                 "waiting_line/copy", "--quiet"]) == 0
    assert (tmp_path / "cli" / "tiny_weights.pt").is_file()
