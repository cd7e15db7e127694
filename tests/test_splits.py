"""Splits: fixed seeds, no input in two splits, and a test split that never depends on the others."""

from __future__ import annotations

import pytest

import parallelbench as pb
from parallelbench.cli import main
from parallelbench.folder import read_manifest
from parallelbench.splits import SPLIT_SEEDS, assemble_splits


def test_no_input_appears_in_two_splits_even_in_a_tiny_input_space():
    # letters, length 3, copy: 15,600 possible inputs, so 3,000 train rows would meet test inputs by chance
    splits = assemble_splits(["list_ops/copy"], {"test": 300, "validation": 300, "train": 3000})["list_ops/copy"]
    assert [len(rows) for rows in splits.values()] == [300, 300, 3000]
    test, validation, train = ({row["reference"] for row in rows} for rows in splits.values())
    assert not test & validation and not test & train and not validation & train


def test_the_test_split_is_the_same_with_or_without_other_splits():
    alone = assemble_splits(["waiting_line/shuffle"], {"test": None})["waiting_line/shuffle"]["test"]
    together = assemble_splits(["waiting_line/shuffle"], {"test": None, "train": 500})["waiting_line/shuffle"]["test"]
    assert alone == together == pb.generate("waiting_line/shuffle", seed=SPLIT_SEEDS["test"])


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        assemble_splits(["waiting_line/copy"], {"dev": 5})


def test_a_split_that_cannot_find_new_inputs_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("parallelbench.splits.MAX_EXTRA_FACTOR", 1)  # no room to top up after a collision
    # About 2,100 train rows are 3-letter lists, of 15,600 possible, against about 240 in the earlier splits:
    # some 30 collisions are expected, and the chance of none is about e**-30.
    with pytest.raises(ValueError, match="cannot find 30000 train rows"):
        assemble_splits(["list_ops/copy"], {"test": 300, "validation": 3000, "train": 30000})


def test_build_with_a_train_split(tmp_path):
    assert main(["build", "--out", str(tmp_path / "pb"), "--tasks", "waiting_line/copy", "--split", "train=250"]) == 0
    manifest = read_manifest(tmp_path / "pb")
    entry = manifest["configs"]["waiting_line-copy"]
    assert entry["splits"] == {"test": 100, "train": 250} and entry["seeds"] == {"test": 0, "train": 2}
    assert (tmp_path / "pb/data/waiting_line-copy/train-00000-of-00001.parquet").is_file()
    assert "split: train" in (tmp_path / "pb/README.md").read_text()
