"""Work split across processes gives exactly what one process gives: the same rows, the same file bytes."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import parallelbench as pb
from parallelbench.parallel import CHUNK_ROWS, generate_tasks, write_tasks

ROWS = CHUNK_ROWS * 2 + 100  # three chunks, the last one short


def test_generate_tasks_is_the_same_for_every_worker_count():
    tasks = ["waiting_line/shuffle", "list_ops/sort"]
    one = generate_tasks(tasks, n=ROWS, seed=3, workers=1)
    two = generate_tasks(tasks, n=ROWS, seed=3, workers=2)
    assert one == two
    assert one["waiting_line/shuffle"] == pb.generate("waiting_line/shuffle", n=ROWS, seed=3)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_written_files_are_byte_identical_for_every_worker_count(tmp_path, suffix):
    one, two = tmp_path / f"one{suffix}", tmp_path / f"two{suffix}"
    assert write_tasks({"waiting_line/insert_random": one}, n=ROWS, seed=2, workers=1) == {"waiting_line/insert_random": ROWS}
    write_tasks({"waiting_line/insert_random": two}, n=ROWS, seed=2, workers=2)
    assert one.read_bytes() == two.read_bytes()
    rows = ([json.loads(line) for line in one.read_text().splitlines()] if suffix == ".jsonl"
            else pq.read_table(one).to_pylist())
    assert rows == pb.generate("waiting_line/insert_random", n=ROWS, seed=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([one.name, two.name])  # no staging file left


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "rows.jsonl"
    target.write_text("previous\n")
    with pytest.raises(ValueError, match="unknown parameter"):
        write_tasks({"waiting_line/copy": target}, n=10, colour="red")
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]
