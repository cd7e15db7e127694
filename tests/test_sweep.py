"""`parallelbench sweep`: a dLLM over tasks x tokens per step x rules into a predictions file and its report."""

from __future__ import annotations

import csv
import json
import math

import pytest

torch = pytest.importorskip("torch")

import parallelbench as pb  # noqa: E402
from parallelbench.cli import main  # noqa: E402
from parallelbench.folder import read_rows  # noqa: E402
from parallelbench.reference_decoding.tiny import TinyConfig, TinyDenoiserModel, TinyVocab, save_tiny  # noqa: E402
from parallelbench.report import read_predictions  # noqa: E402
from parallelbench.sweep import Setting, parse_tokens_per_step, settings_grid  # noqa: E402


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    rows = pb.generate("waiting_line/copy", n=50, seed=2) + pb.generate("waiting_line/shuffle", n=50, seed=2)
    vocab = TinyVocab.from_rows(rows)
    torch.manual_seed(0)
    model = TinyDenoiserModel(TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id,
                                         d_model=16, layers=1, heads=2, ff=32))
    return save_tiny(model, vocab, tmp_path_factory.mktemp("tiny") / "tiny")


def test_the_settings_grid_gives_fixed_rules_their_k_and_dynamic_rules_their_thresholds():
    grid = settings_grid(["random", "threshold"], [1, None], [0.9, 0.5])
    assert grid == [Setting("random", 1), Setting("random", None), Setting("threshold", threshold=0.9),
                    Setting("threshold", threshold=0.5)]
    assert parse_tokens_per_step(["1", "4", "all"]) == [1, 4, None]
    with pytest.raises(ValueError, match="needs --thresholds"):
        settings_grid(["factor"], [1], [])
    with pytest.raises(ValueError, match="positive integers or 'all'"):
        parse_tokens_per_step(["0"])


def test_model_to_predictions_to_report_is_one_command(tmp_path, tiny_folder, capsys):
    folder = pb.build(tmp_path / "pb", tasks=["waiting_line/copy", "waiting_line/shuffle", "puzzle/latin_square_n3"])
    predictions, report = tmp_path / "sweep.jsonl", tmp_path / "report"
    assert main(["sweep", str(folder), "--model", str(tiny_folder), "--out", str(predictions), "--rows-per-task", "8",
                 "--rules", "random", "confidence", "threshold", "--tokens-per-step", "1", "2", "all",
                 "--thresholds", "0.0", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "puzzle/latin_square_n3\tskipped: the tiny model reads only" in out
    settings = 2 * 3 + 1
    assert f"{2 * 8 * settings} predictions (16 rows x {settings} settings)" in out

    parsed = read_predictions(predictions)
    assert parsed.fields == ("model", "tokens_per_step", "rule", "threshold", "temperature")
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    for line in lines:
        slots = len(json.loads(line["prediction"]))
        nfe = line["log"]["nfe"]
        if line["rule"] == "threshold":
            assert line["tokens_per_step"] is None and line["threshold"] == 0.0 and nfe == 1
        elif line["tokens_per_step"] is None:
            assert nfe == 1
        else:
            assert nfe == math.ceil(slots / line["tokens_per_step"])
        assert line["log"]["tokens_per_step"] == pytest.approx(slots / nfe)
    lengths = sorted(json.loads(row["metadata"])["length"] for row in read_rows(folder)
                     if row["id"] in {line["id"] for line in lines} and row["task"] == "waiting_line/copy")
    assert lengths == [3, 3, 4, 4, 5, 5, 6, 6]

    with (report / "summary.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == settings * 3  # two tasks and the overall row per setting
    assert {row["n"] for row in table if row["task"] != "overall"} == {"8"}
    assert all(row["failures_missing_prediction"] == "0" for row in table)  # rows not decoded are left out
    summary = json.loads((report / "summary.json").read_text())
    assert summary["missing_predictions"] == "skipped"
    labels = {curve["model"] for curve in summary["curves"]["curves"]}
    assert labels == {"model=tiny, rule=random", "model=tiny, rule=confidence", "model=tiny, rule=threshold",
                      "oracle/random/sample"}  # the constant temperature is left out of the labels


def test_an_unknown_rule_is_one_clear_line(tmp_path, tiny_folder, capsys):
    folder = pb.build(tmp_path / "pb", tasks=["waiting_line/copy"], calibrate=False)
    assert main(["sweep", str(folder), "--model", str(tiny_folder), "--out", str(tmp_path / "s.jsonl"),
                 "--rules", "fastest"]) == 2
    assert "unknown rule 'fastest'" in capsys.readouterr().err
