"""The built benchmark folder: byte-identical rebuilds, offline loading, atomic replacement, validation."""

from __future__ import annotations

import importlib
import json
import os

import pytest

import parallelbench as pb
from parallelbench.cli import main
from parallelbench.folder import checksum_problems, gold_problems, read_manifest, read_rows
from parallelbench.reference_decoding.calibrate import calibrate_folder

TASKS = ["waiting_line/shuffle", "waiting_line/sort", "list_ops/insert_random"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return pb.build(tmp_path_factory.mktemp("b") / "parallelbench", version="9.9.9", tasks=TASKS)


def test_build_writes_data_manifest_and_card(built):
    assert (built / "data/waiting_line-shuffle/test-00000-of-00001.parquet").is_file()
    manifest = read_manifest(built)
    assert manifest["version"] == "9.9.9"
    assert set(manifest["configs"]) == {"waiting_line-shuffle", "waiting_line-sort", "list_ops-insert_random"}
    assert manifest["configs"]["waiting_line-shuffle"]["splits"] == {"test": 100}
    assert manifest["versions"]["faker"] != "not installed"
    assert "README.md" in manifest["files"]
    card = (built / "README.md").read_text()
    assert "config_name: waiting_line-shuffle" in card and pb.CANARY in card and "2510.04767" in card


def test_rebuild_is_byte_identical(built, tmp_path):
    again = pb.build(tmp_path / "parallelbench", version="9.9.9", tasks=TASKS, workers=2)
    assert read_manifest(again)["files"] == read_manifest(built)["files"]


def test_folder_loads_offline_with_datasets(built, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.chdir(built.parent)
    rows = datasets.load_dataset("parallelbench", "waiting_line-shuffle", split="test", cache_dir=str(tmp_path / "cache"))
    assert rows.num_rows == 100
    assert rows[0] == next(row for row in read_rows(built) if row["task"] == "waiting_line/shuffle")


def test_validate_passes_then_catches_tampering(built, tmp_path):
    copy = pb.build(tmp_path / "copy", tasks=TASKS[:1])
    assert checksum_problems(copy) == [] and gold_problems(copy) == []
    (copy / "data/waiting_line-shuffle/test-00000-of-00001.parquet").write_bytes(b"broken")
    (copy / "stray.txt").write_text("x")
    problems = checksum_problems(copy)
    assert "checksum mismatch: data/waiting_line-shuffle/test-00000-of-00001.parquet" in problems
    assert "file not in manifest: stray.txt" in problems


def test_failed_build_leaves_the_previous_folder_intact(tmp_path, monkeypatch):
    good = pb.build(tmp_path / "parallelbench", tasks=TASKS[:1])
    before = read_manifest(good)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importlib.import_module("parallelbench.build"), "render_card", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        pb.build(tmp_path / "parallelbench", tasks=TASKS)
    assert read_manifest(good) == before and checksum_problems(good) == []
    assert sorted(os.listdir(tmp_path)) == ["parallelbench"]


def test_build_refuses_to_replace_a_folder_that_is_not_a_build(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a ParallelBench build"):
        pb.build(precious, tasks=TASKS[:1])
    assert (precious / "notes.txt").read_text() == "keep me"


def test_manifest_records_code_hashes_and_seeds(built):
    manifest = read_manifest(built)
    assert manifest["configs"]["waiting_line-sort"]["seeds"] == {"test": 0}
    assert "parallelbench.generators.waiting_line" in manifest["code_sha256"]
    assert json.loads(json.dumps(manifest)) == manifest


def test_build_calibrates_by_default_and_can_skip_it(built, tmp_path):
    rows = read_rows(built)
    shuffle = [json.loads(row["difficulty"]) for row in rows if row["task"] == "waiting_line/shuffle"]
    assert all(d["method"] == "exact" and d["tier"] in ("easy", "medium", "hard") for d in shuffle)
    entry = read_manifest(built)["configs"]["waiting_line-shuffle"]
    assert entry["difficulty"]["curves"]["random/sample"]["1"] == 1.0
    assert "calibration/waiting_line-shuffle.json" in read_manifest(built)["files"]
    assert "| `waiting_line-shuffle` |" in (built / "README.md").read_text()

    plain = pb.build(tmp_path / "plain", tasks=TASKS[:1], calibrate=False)
    assert {row["difficulty"] for row in read_rows(plain)} == {"{}"}
    assert not (plain / "calibration").exists()


def test_calibrate_command_fills_an_uncalibrated_build(tmp_path, capsys):
    plain = pb.build(tmp_path / "plain", tasks=["waiting_line/insert_random"], calibrate=False)
    assert main(["calibrate", str(plain)]) == 0
    assert "waiting_line-insert_random\t1.000 / " in capsys.readouterr().out
    assert checksum_problems(plain) == [] and all(row["difficulty"] != "{}" for row in read_rows(plain))
    assert "| 1.00 / " in (plain / "README.md").read_text()


def test_a_failed_calibration_leaves_the_folder_intact(tmp_path, monkeypatch):
    plain = pb.build(tmp_path / "plain", tasks=TASKS[:1], calibrate=False)
    before = read_manifest(plain)

    def explode(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr("parallelbench.reference_decoding.calibrate.calibrate_rows", explode)
    with pytest.raises(RuntimeError, match="interrupted"):
        calibrate_folder(plain)
    assert read_manifest(plain) == before and checksum_problems(plain) == []
    assert sorted(os.listdir(tmp_path)) == ["plain"]
