"""The public API: generate, score, score_many, scorer; determinism pinned by golden hashes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

import parallelbench as pb
from parallelbench import api

#: sha256 of the JSON of the first 5 rows under seed 0: these pin "same seed, same bytes" across Pythons and
#: machines. A change here means every published row changes: bump the task's generator version with it.
GOLDEN = {
    "waiting_line/shuffle": "58743edc8a51aa3d21cd1ade48b9a1907a1eb75e9d20e4d0094bbf59f3cbd8c9",
    "waiting_line/sort": "55002b7d2e7bf6a565390114cabe849453c799dd3b0593c327060450dc09efa6",
    "waiting_line/insert_random": "904b09e881fb77c055b63515bb1dcd356f6a400c59bd5befacc21bb4c4659457",
    "list_ops/replace_index": "ca78235ccfe3c0e733cb05532269de45d9023d45aaf1040c51595b8e52490ec8",
    "words_to_sentence/hard": "ab5a83e7b241d7012fbb84547c221ca38472cecf51a97a13be865850b302b522",
    "paraphrase_summarize/summarize": "ae98ea1c40816c2d71ab57684d6ab6a039c6cbf9b79d1053d774917499c6bb8e",
}


def _digest(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize("task", sorted(GOLDEN))
def test_golden_rows_do_not_move(task):
    assert _digest(pb.generate(task, n=5, seed=0)) == GOLDEN[task]


def test_generate_accepts_aliases_and_config_names():
    assert pb.generate("waiting_line-copy", n=2) == pb.generate("waiting_line/copy", n=2)


@pytest.mark.parametrize("kwargs,match", [
    ({"task": "nope/task"}, "unknown task"),
    ({"task": "waiting_line/copy", "colour": "red"}, "unknown parameter 'colour'"),
    ({"task": "waiting_line/copy", "n": -1}, "n must be"),
    ({"task": "waiting_line/copy", "seed": "7"}, "seed must be"),
])
def test_generate_rejects_bad_input_clearly(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pb.generate(**kwargs)


def test_score_raises_only_for_a_malformed_row():
    row = pb.generate("waiting_line/copy", n=1)[0]
    with pytest.raises(ValueError, match="missing column 'reference'"):
        pb.score({"task": row["task"]}, row["answer"])
    with pytest.raises(ValueError, match="not JSON"):
        pb.score({**row, "reference": "{"}, row["answer"])
    with pytest.raises(ValueError, match="unknown task"):
        pb.score({**row, "task": "nope"}, row["answer"])
    with pytest.raises(ValueError, match="mapping"):
        pb.score(["not", "a", "row"], row["answer"])


def test_score_handles_non_text_predictions():
    row = pb.generate("waiting_line/copy", n=1)[0]
    for prediction in (None, 12, b"\xff\xfe", ["Ann Lee"]):
        assert pb.score(row, prediction).value == 0.0


def test_score_many_equals_the_loop():
    rows = [row for task in ("waiting_line/shuffle", "waiting_line/sort", "list_ops/remove_random")
            for row in pb.generate(task, n=30, seed=1)]
    predictions = [row["answer"] if i % 3 else rows[(i + 1) % len(rows)]["answer"] for i, row in enumerate(rows)]
    assert pb.score_many(rows, predictions) == [pb.score(r, p) for r, p in zip(rows, predictions)]
    assert pb.score_many(rows, predictions, strict=True) == [pb.score(r, p, strict=True) for r, p in zip(rows, predictions)]


def test_score_many_gives_the_same_verdicts_on_several_workers(monkeypatch):
    monkeypatch.setattr(api, "SCORE_CHUNK", 100)  # many spans per worker, so its reference cache is used across them
    rows = [row for task in ("waiting_line/shuffle", "words_to_sentence/easy", "puzzle/latin_square_n4")
            for row in pb.generate(task, n=150, seed=4)] * 3
    predictions = [row["answer"] if i % 2 else rows[-i]["answer"] for i, row in enumerate(rows)]
    predictions[7], predictions[8] = None, "[" * 10_000  # odd predictions score zero in a worker too
    in_workers = pb.score_many(rows, predictions, workers=2)
    assert in_workers == [pb.score(row, prediction) for row, prediction in zip(rows, predictions)]
    assert 0 < sum(verdict.correct for verdict in in_workers) < len(rows)


def test_score_many_in_workers_raises_for_a_malformed_row(monkeypatch):
    monkeypatch.setattr(api, "SCORE_CHUNK", 10)
    rows = pb.generate("waiting_line/copy", n=40)
    rows[33] = {**rows[33], "reference": "{not json"}
    with pytest.raises(pb.MalformedRowError, match="reference is not JSON"):
        pb.score_many(rows, [row["answer"] for row in rows], workers=2)


def _run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_public_names_stay_what_they_name_after_every_module_is_imported():
    # Importing a submodule sets the package attribute of its own name; no public name may be shadowed that way.
    code = """
import importlib, pkgutil, types, parallelbench as pb
for info in pkgutil.walk_packages(pb.__path__, "parallelbench."):
    try:
        importlib.import_module(info.name)
    except ImportError:  # an optional extra
        pass
print([name for name in pb.__all__ if isinstance(getattr(pb, name), types.ModuleType)])
"""
    assert _run_python(code).strip() == "[]"
    assert set(dir(pb)) >= set(pb.__all__) and callable(pb.build) and callable(pb.iter_rows)


def test_the_command_line_loads_only_what_generating_rows_needs():
    code = """
import sys
from parallelbench.cli import make_parser
from parallelbench.registry import task_names
task_names()
print(sorted(name for name in ("pyarrow", "nltk", "lemminflect", "rouge_score", "parallelbench.builder",
                               "parallelbench.hub", "parallelbench.report", "torch") if name in sys.modules))
"""
    assert _run_python(code).strip() == "[]"


def test_score_many_rejects_length_mismatch():
    with pytest.raises(ValueError, match="2 predictions for 1 rows"):
        pb.score_many(pb.generate("waiting_line/copy", n=1), ["a", "b"])


def test_scorer_is_stateless():
    rows = pb.generate("waiting_line/replace_random", n=20, seed=2)
    score = pb.scorer("waiting_line/replace_random")
    first = [score(row, row["answer"]) for row in rows]
    noise = [score(row, "garbage [") for row in rows[::-1]]
    again = [score(row, row["answer"]) for row in rows]
    assert first == again and all(v.correct for v in first) and not any(v.correct for v in noise)
    assert [score(row, row["answer"]) for row in rows[::-1]] == first[::-1]


def test_score_value_and_reason_types():
    row = pb.generate("waiting_line/copy", n=1)[0]
    verdict = pb.score(row, row["answer"])
    assert isinstance(verdict, pb.Score) and verdict.value == 1.0 and verdict.correct and verdict.reason == "ok"
    assert verdict.details["mode"] == "lenient"
