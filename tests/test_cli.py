"""The `parallelbench` command line: each command, and one clear line with exit status 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import parallelbench as pb
from parallelbench.cli import main


def test_tasks_lists_every_task(capsys):
    assert main(["tasks"]) == 0
    assert capsys.readouterr().out.split() == pb.tasks()


def test_generate_one_task_to_jsonl_and_parquet(tmp_path):
    assert main(["generate", "waiting_line/shuffle", "--n", "7", "--seed", "3", "--out", str(tmp_path / "a.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert rows == pb.generate("waiting_line/shuffle", n=7, seed=3)
    assert main(["generate", "waiting_line/copy", "--n", "4", "--out", str(tmp_path / "b.parquet"),
                 "--param", "length=[5,5]"]) == 0
    table = pq.read_table(tmp_path / "b.parquet").to_pylist()
    assert table == pb.generate("waiting_line/copy", n=4, length=(5, 5))


def test_generate_several_tasks_to_a_folder(tmp_path):
    assert main(["generate", "waiting_line/copy", "list_ops/sort", "--n", "3", "--out", str(tmp_path / "out"),
                 "--workers", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["list_ops-sort.jsonl", "waiting_line-copy.jsonl"]


def test_build_score_and_validate(tmp_path, capsys):
    folder = tmp_path / "parallelbench"
    assert main(["build", "--out", str(folder), "--tasks", "waiting_line/copy", "waiting_line/shuffle"]) == 0
    assert main(["validate", str(folder)]) == 0
    rows = pb.generate("waiting_line/copy", n=100) + pb.generate("waiting_line/shuffle", n=100)
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("\n".join(json.dumps({"id": row["id"], "prediction": row["answer"] if i % 2 else "?"})
                                     for i, row in enumerate(rows)))
    verdicts = tmp_path / "verdicts.jsonl"
    capsys.readouterr()
    assert main(["score", str(folder), "--predictions", str(predictions), "--out", str(verdicts)]) == 0
    out = capsys.readouterr().out
    assert "-\twaiting_line/copy\t100\t0.5000\t0.5000\t0.5000\t0" in out
    assert "-\twaiting_line/shuffle\t100\t0.5000" in out
    assert "-\toverall\t200\t0.5000" in out
    lines = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert len(lines) == 200 and {line["correct"] for line in lines} == {True, False}


@pytest.mark.parametrize("argv,message", [
    (["generate", "nope/task", "--out", "x.jsonl"], "unknown task"),
    (["generate", "waiting_line/copy", "--out", "x.txt"], ".jsonl or .parquet"),
    (["generate", "waiting_line/copy", "--out", "x.jsonl", "--param", "length=[9,2]"], "length"),
    (["generate", "waiting_line/copy", "--out", "x.jsonl", "--param", "oops"], "KEY=VALUE"),
    (["validate", "no-such-folder"], "not a ParallelBench build"),
    (["score", "no-such-folder", "--predictions", "p.jsonl"], "predictions file not found"),
])
def test_bad_input_is_one_clear_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_score_rejects_malformed_predictions(tmp_path, capsys):
    folder = pb.build(tmp_path / "parallelbench", tasks=["waiting_line/copy"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    assert main(["score", str(folder), "--predictions", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_lm_eval_writes_task_files_and_rejects_a_lone_revision(tmp_path, capsys):
    folder = pb.build(tmp_path / "parallelbench", tasks=["waiting_line/copy"], calibrate=False)
    assert main(["lm-eval", str(folder), "--out", str(tmp_path / "tasks")]) == 0
    assert (tmp_path / "tasks/parallelbench_waiting_line-copy.yaml").is_file()
    assert "--include_path" in capsys.readouterr().out
    assert main(["lm-eval", str(folder), "--out", str(tmp_path / "t2"), "--revision", "v1.0.0"]) == 2
    assert "--hub-id" in capsys.readouterr().err


def test_a_bug_shows_its_traceback_and_says_it_is_a_bug(capsys, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ValueError("an error inside a library, not the user's input")

    monkeypatch.setattr("parallelbench.cli.write_tasks", broken)
    assert main(["generate", "waiting_line/copy", "--n", "1", "--out", str(tmp_path / "a.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "this is a bug" in err and "an error inside a library" in err


def test_user_errors_are_parallelbench_errors_and_value_errors():
    from parallelbench.errors import ParallelBenchError

    for call in (lambda: pb.generate("nope/task"), lambda: pb.generate("waiting_line/copy", length=(9, 2)),
                 lambda: pb.score({"task": "waiting_line/copy"}, "x")):
        with pytest.raises(ParallelBenchError) as caught:
            call()
        assert isinstance(caught.value, ValueError)


def test_the_readme_task_table_is_the_registry_s(capsys):
    from pathlib import Path

    assert main(["tasks", "--markdown"]) == 0
    table = capsys.readouterr().out
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    between = readme.split("<!-- tasks:begin -->\n", 1)[1].split("<!-- tasks:end -->", 1)[0]
    assert between == table, "README's task table is stale: paste `parallelbench tasks --markdown` between the markers"
    for task in pb.tasks():
        family, name = task.split("/", 1)
        assert f"`{family}`" in table and f"`{name}`" in table


def _closed_reader_run(code: str) -> tuple[int, bytes]:
    """Run `code` in a fresh Python whose stdout is a pipe nobody reads (`| head` that has already stopped)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}  # a shell's usual buffering
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()
    return process.wait(timeout=60), process.stderr.read()


def test_a_reader_that_stops_reading_is_not_an_error():
    # `parallelbench tasks -v | head -1`: the listing is complete before the reader's absence is seen.
    assert _closed_reader_run("import sys; from parallelbench.cli import main; sys.exit(main(['tasks', '-v']))") == (0, b"")


def test_a_reader_that_stops_before_the_command_ends_gives_a_failure_status():
    # Cut off in the middle of its output, a command's outcome is unknown: never report success (`validate | head`
    # must not pass a broken build), and still print no error about the pipe.
    code = ("import sys; from parallelbench import cli; "
            "cli.cmd_tasks = lambda args: [print('x' * 100) for _ in range(100_000)]; sys.exit(cli.main(['tasks']))")
    assert _closed_reader_run(code) == (1, b"")
