"""Speed-quality reports: curves, the area under them, the oracle's records and the PNG plot."""

from __future__ import annotations

import json
import math

import pytest

import parallelbench as pb
from parallelbench.reference_decoding.calibrate import calibrate_rows
from parallelbench.reference_decoding.report import (
    area_under_curve, oracle_records, plot_curves, speed_quality, summary_table,
)


def test_a_flat_curve_has_its_accuracy_as_area():
    assert area_under_curve([(1, 0.7), (8, 0.7)], (1, 8)) == (pytest.approx(0.7), False)


def test_the_area_is_taken_on_a_log2_axis():
    # accuracy 1 at 1 token/step falling linearly in log2 to 0 at 4: the area over [1, 4] is one half
    assert area_under_curve([(1, 1.0), (2, 0.5), (4, 0.0)], (1, 4))[0] == pytest.approx(0.5)
    # over [1, 8] the last half of the range (4 -> 8 in log2 terms is 1 of 3) is held at 0
    area, extrapolated = area_under_curve([(1, 1.0), (4, 0.0)], (1, 8))
    assert area == pytest.approx(1 / 3) and extrapolated


def test_area_between_measured_points_interpolates_linearly():
    area, extrapolated = area_under_curve([(1, 1.0), (2, 0.0), (4, 1.0), (8, 1.0)], (1.5, 3))
    # on log2: accuracy at log2(1.5) = 1 - 0.585 = 0.415, 0 at 1, then back up to log2(3) - 1 = 0.585 at log2(3)
    a, b = math.log2(1.5), math.log2(3)
    expected = ((1 - a) * (1 - a) / 2 + (b - 1) * (b - 1) / 2) / (b - a)
    assert area == pytest.approx(expected) and not extrapolated


@pytest.mark.parametrize("bad", [dict(points=[]), dict(points=[(0, 1.0)]), dict(points=[(1, 1.0)], parallelism=(2, 1))])
def test_bad_curves_are_refused(bad):
    with pytest.raises(ValueError):
        area_under_curve(bad["points"], bad.get("parallelism", (1, 8)))


def test_speed_quality_groups_by_task_and_model_and_averages_repeats():
    records = [
        {"task": "t", "model": "m", "tokens_per_step": 1, "accuracy": 1.0},
        {"task": "t", "model": "m", "tokens_per_step": 2, "accuracy": 0.4},
        {"task": "t", "model": "m", "tokens_per_step": 2, "accuracy": 0.6, "nfe": 3},
        {"task": "t", "model": "other", "tokens_per_step": 1, "accuracy": 0.2},
    ]
    curves = speed_quality(records, parallelism=(1, 2))
    assert [(c.task, c.model) for c in curves] == [("t", "m"), ("t", "other")]
    assert curves[0].points == ((1.0, 1.0), (2.0, 0.5)) and curves[0].auc == pytest.approx(0.75)
    assert len(curves[0].records) == 3
    table = summary_table(curves)
    assert "| t | m | 1.000 @ 1.00, 0.500 @ 2.00 | 0.750 |" in table
    with pytest.raises(ValueError, match="accuracy"):
        speed_quality([{"task": "t", "model": "m", "tokens_per_step": 1}])


def test_oracle_records_average_calibrated_rows_per_setting():
    rows = calibrate_rows(pb.generate("waiting_line/replace_random", 2, seed=0, length=(3, 4), rows_per_length=1))
    records = oracle_records(rows)
    by_setting = {record["setting"]: record for record in records}
    assert set(by_setting) == {"1", "2", "4", "all"}
    lengths = [json.loads(row["difficulty"])["slots"] for row in rows]  # 3 and 4
    assert by_setting["2"]["tokens_per_step"] == pytest.approx((3 / 2 + 4 / 2) / 2)
    assert by_setting["all"]["tokens_per_step"] == pytest.approx(sum(lengths) / 2)
    assert by_setting["all"]["accuracy"] == pytest.approx(((2 / 3) ** 2 + (3 / 4) ** 3) / 2, abs=1e-6)
    assert all(record["model"] == "oracle/random/sample" and record["unit"] == "answer unit" for record in records)
    curves = speed_quality(records)
    assert curves[0].points[0] == (1.0, 1.0)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    records = [{"task": task, "model": model, "tokens_per_step": x, "accuracy": 1 / x}
               for task in ("a", "b") for model in ("m1", "m2") for x in (1, 2, 4)]
    path = plot_curves(speed_quality(records), tmp_path / "plots" / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    curves = speed_quality([{"task": "t", "model": "m", "tokens_per_step": 1, "accuracy": 1.0}])
    with pytest.raises(ImportError, match=r"parallelbench\[plots\]"):
        plot_curves(curves, tmp_path / "x.png")
