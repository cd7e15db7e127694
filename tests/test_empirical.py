"""Empirical curves of a neural model recorded in a build (CPU, a randomly initialised tiny model)."""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")

import parallelbench as pb  # noqa: E402
from parallelbench.cli import main  # noqa: E402
from parallelbench.folder import checksum_problems, read_manifest  # noqa: E402
from parallelbench.reference_decoding.empirical import model_slug, pick_rows  # noqa: E402
from parallelbench.reference_decoding.tiny import TinyConfig, TinyDenoiserModel, TinyVocab, save_tiny  # noqa: E402


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    rows = pb.generate("waiting_line/copy", n=50, seed=2) + pb.generate("waiting_line/shuffle", n=50, seed=2)
    vocab = TinyVocab.from_rows(rows)
    torch.manual_seed(0)
    model = TinyDenoiserModel(TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id,
                                         d_model=16, layers=1, heads=2, ff=32))
    return save_tiny(model, vocab, tmp_path_factory.mktemp("tiny") / "model")


def test_model_slug_is_file_name_safe():
    assert model_slug("GSAI-ML/LLaDA-8B-Instruct") == "llada-8b-instruct"
    assert model_slug("runs/tiny/") == "tiny"


def test_pick_rows_takes_the_first_rows_of_each_task():
    rows = [{"task": "a", "id": i} for i in range(5)] + [{"task": "b", "id": i} for i in range(5)]
    assert [row["id"] for row in pick_rows(rows, None, 2)] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="no test row"):
        pick_rows(rows, ["c"], 2)


def test_calibrate_with_a_model_records_its_curve_in_the_build(tmp_path, tiny_folder, capsys):
    folder = pb.build(tmp_path / "pb", tasks=["waiting_line/copy", "waiting_line/shuffle"])
    assert main(["calibrate", str(folder), "--model", str(tiny_folder), "--rows-per-task", "4"]) == 0
    assert "waiting_line/shuffle\t2 / " in capsys.readouterr().out
    written = json.loads((folder / "calibration/model-model.json").read_text())
    settings = {(p["task"], p["tokens_per_step"]) for p in written["points"]}
    assert settings == {(task, k) for task in ("waiting_line/copy", "waiting_line/shuffle") for k in (1, 2, 4, None)}
    for point in written["points"]:
        assert point["rows"] == 4 and 0.0 <= point["accuracy"] <= 1.0 and point["nfe"] >= 1
    assert read_manifest(folder)["model_curves"] == {"model": "calibration/model-model.json"}
    assert checksum_problems(folder) == []
    if importlib.util.find_spec("matplotlib"):
        assert (folder / "calibration/model-model.png").stat().st_size > 1000


def test_pick_rows_spreads_each_task_evenly_over_its_lengths():
    rows = pb.generate("waiting_line/copy", n=100)  # 25 rows of each length 3..6, in blocks
    picked = pick_rows(rows, None, 10)
    lengths = [json.loads(row["metadata"])["length"] for row in picked]
    assert sorted(lengths) == [3, 3, 3, 4, 4, 4, 5, 5, 6, 6]
    assert len({row["id"] for row in picked}) == 10


def test_calibrate_with_the_tiny_model_skips_the_tasks_it_cannot_read_and_shows_the_plot_in_the_card(
        tmp_path, tiny_folder, capsys):
    folder = pb.build(tmp_path / "pb", tasks=["waiting_line/copy", "puzzle/latin_square_n3",
                                              "words_to_sentence/easy"])
    assert main(["calibrate", str(folder), "--model", str(tiny_folder), "--rows-per-task", "8"]) == 0
    out = capsys.readouterr().out
    assert "puzzle/latin_square_n3\tskipped: the tiny model reads only waiting_line and list_ops rows" in out
    assert "words_to_sentence/easy\tskipped:" in out
    written = json.loads((folder / "calibration/model-model.json").read_text())
    assert set(written["skipped_tasks"]) == {"puzzle/latin_square_n3", "words_to_sentence/easy"}
    assert written["row_lengths"] == {"waiting_line/copy": {"3": 2, "4": 2, "5": 2, "6": 2}}
    assert {point["task"] for point in written["points"]} == {"waiting_line/copy"}
    if importlib.util.find_spec("matplotlib"):
        card = (folder / "README.md").read_text()
        assert "## Model curves" in card and "(calibration/model-model.png)" in card
    assert checksum_problems(folder) == []


def test_calibrate_with_a_model_that_reads_none_of_the_tasks_says_why(tmp_path, tiny_folder, capsys):
    folder = pb.build(tmp_path / "pb", tasks=["puzzle/latin_square_n3"], calibrate=False)
    assert main(["calibrate", str(folder), "--model", str(tiny_folder)]) == 2
    assert "decodes none of the requested tasks: the tiny model reads only" in capsys.readouterr().err


def test_the_tiny_model_says_why_it_cannot_read_a_row():
    from parallelbench.reference_decoding.tiny import answer_slots, unsupported_reason

    assert unsupported_reason(pb.generate("list_ops/sort", n=1)[0]) == ""
    assert "puzzle/sudoku_n4_4 is a puzzle task" in unsupported_reason(pb.generate("puzzle/sudoku_n4_4", n=1)[0])
    assert "not a ParallelBench row" in unsupported_reason({"question": "2 + 2?"})  # e.g. a GSM8K doc in lm-eval
    with pytest.raises(ValueError, match="reads only waiting_line and list_ops"):
        answer_slots(pb.generate("words_to_sentence/easy", n=1)[0])
