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
    again = pb.build(tmp_path / "parallelbench", version="9.9.9", tasks=TASKS, workers=1, overwrite=True)
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

    monkeypatch.setattr(importlib.import_module("parallelbench.folder"), "render_card", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        pb.build(tmp_path / "parallelbench", tasks=TASKS, overwrite=True)
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


# Safe rebuilds: semantic versions, no silent replacement, one writer at a time, no leftovers, clear manifests.


@pytest.mark.parametrize("version, hint", [("v1.2.0", "write 1.2.0"), ("1", ""), ("1.2", ""), ("", ""), ("1.2.0 ", "")])
def test_version_must_be_semantic(tmp_path, version, hint):
    with pytest.raises(ValueError, match="semantic version") as caught:
        pb.build(tmp_path / "b", version=version, tasks=TASKS[:1], calibrate=False)
    assert hint in str(caught.value)
    assert not (tmp_path / "b").exists()


def test_cli_rejects_a_v_version_with_a_hint(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "b"), "--version", "v1", "--tasks", TASKS[0]]) == 2
    assert "semantic version" in capsys.readouterr().err


def test_building_over_a_build_is_refused_without_overwrite(tmp_path, capsys):
    folder = pb.build(tmp_path / "b", version="1.0.0", tasks=TASKS[:2], calibrate=False)
    before = read_manifest(folder)
    with pytest.raises(ValueError, match=r"already holds a build \(version 1.0.0, 2 configs, 200 rows\)"):
        pb.build(folder, version="1.0.1", tasks=TASKS[:1], splits={"test": 5}, calibrate=False)
    assert read_manifest(folder) == before
    assert main(["build", "--out", str(folder), "--tasks", TASKS[0], "--split", "test=5", "--no-calibrate"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "200 rows" in err and err.count("\n") == 1
    assert main(["build", "--out", str(folder), "--tasks", TASKS[0], "--split", "test=5", "--no-calibrate",
                 "--overwrite"]) == 0
    assert read_manifest(folder)["configs"]["waiting_line-shuffle"]["splits"] == {"test": 5}
    assert sorted(os.listdir(tmp_path)) == ["b"]


def test_a_second_writer_fails_at_once_with_a_clear_message(tmp_path, capsys):
    from parallelbench.staging import folder_lock

    folder = tmp_path / "b"
    with folder_lock(folder):
        with pytest.raises(pb.FolderError, match=f"being written by another ParallelBench process \\(pid {os.getpid()}"):
            pb.build(folder, tasks=TASKS[:1], calibrate=False)
        assert main(["build", "--out", str(folder), "--tasks", TASKS[0], "--no-calibrate"]) == 2
        assert "being written by another" in capsys.readouterr().err
    assert not folder.exists()
    pb.build(folder, tasks=TASKS[:1], calibrate=False)  # the lock is gone with its holder
    assert sorted(os.listdir(tmp_path)) == ["b"]


def test_concurrent_builds_in_two_processes_one_fails(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "b"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from parallelbench.staging import staged\n"
        f"with staged(Path({str(folder)!r})):\n    print('locked', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(pb.FolderError, match=f"pid {holder.pid}"):
            pb.build(folder, tasks=TASKS[:1], calibrate=False)
    finally:
        holder.kill()  # SIGKILL: its staging folder stays behind, its lock goes with it
        holder.wait()
    assert (tmp_path / f"b.tmp-{holder.pid}").is_dir()
    with pytest.warns(UserWarning, match=f"removed .*b.tmp-{holder.pid}"):
        pb.build(folder, tasks=TASKS[:1], calibrate=False)
    assert sorted(os.listdir(tmp_path)) == ["b"]


def test_a_leftover_of_a_running_process_is_reported_and_kept(tmp_path):
    alive = tmp_path / f"b.tmp-{os.getppid()}"
    alive.mkdir()
    with pytest.warns(UserWarning, match="still running"):
        pb.build(tmp_path / "b", tasks=TASKS[:1], calibrate=False)
    assert alive.is_dir()


@pytest.mark.parametrize("manifest, message", [
    ("{}", "has no 'version'"), ("[]", "must be a JSON object, not list"), ("null", "not NoneType"),
    ('{"version": 1, "configs": {}, "files": {}}', "'version' must be a JSON string"),
    ('{"version": "1.0.0", "configs": [], "files": {}}', "'configs' must be a JSON object"),
    ('{"version": "1.0.0", "configs": {"a": {"task": "t", "splits": {"test": "5"}}}, "files": {}}', "'splits'"),
    ('{"version": "1.0.0", "configs": {}, "files": {"../x": "' + "0" * 64 + '"}}', "not a path inside"),
    ('{"version": "1.0.0", "configs": {}, "files": {"x": 5}}', "sha256"),
    ("not json", "not valid JSON"),
])
def test_a_malformed_manifest_is_one_clear_error(tmp_path, capsys, manifest, message):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "manifest.json").write_text(manifest)
    for argv in (["validate", str(folder)], ["push", str(folder), "--repo-id", "org/name", "--dry-run"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_large_split_is_written_in_hub_named_shards(tmp_path):
    folder = pb.build(tmp_path / "b", tasks=["list_ops/copy"], splits={"train": 2500}, calibrate=False,
                      rows_per_shard=1000, workers=2)
    names = sorted(path.name for path in (folder / "data/list_ops-copy").iterdir())
    assert names == ["test-00000-of-00001.parquet", "train-00000-of-00003.parquet", "train-00001-of-00003.parquet",
                     "train-00002-of-00003.parquet"]
    train = read_rows(folder, "train")
    assert len(train) == 2500 and [row["index"] for row in train][:3] == [0, 1, 2]
    test_inputs = {row["reference"] for row in read_rows(folder)}
    assert not test_inputs & {row["reference"] for row in train}
    assert checksum_problems(folder) == []
    single = pb.build(tmp_path / "one", tasks=["list_ops/copy"], splits={"train": 2500}, calibrate=False, workers=1)
    assert read_rows(single, "train") == train  # the same rows whatever the shard size and worker count
