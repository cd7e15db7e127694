"""The card's calibration plot: the oracle's accuracy against answer units per step, one line per config (PNG)."""

from __future__ import annotations

import io
from typing import Any

#: Where the plot lives in a published folder, next to the per-config curves it summarises.
CARD_PLOT = "calibration/oracle_accuracy.png"

_STEPS = ("1", "2", "4", "all")


def varying_curves(manifest: dict[str, Any]) -> tuple[dict[str, list[float]], int]:
    """The oracle curves worth drawing (random order, sampled values) and how many calibrated configs stay at 1.0.

    A task with one correct answer is decoded perfectly at any parallelism, so its flat curve is counted, not drawn.

    Returns:
        ``({config: [accuracy at k = 1, 2, 4, all]}, number of flat calibrated configs)``.
    """
    curves, flat = {}, 0
    for config_name, entry in manifest["configs"].items():
        curve = (entry.get("difficulty") or {}).get("curves", {}).get("random/sample")
        if not curve:
            continue
        values = [curve[step] for step in _STEPS]
        if min(values) >= 1.0:
            flat += 1
        else:
            curves[config_name] = values
    return curves, flat


def plot_png(manifest: dict[str, Any]) -> bytes | None:
    """Draw the calibration plot of a build: one line per config whose oracle accuracy falls, coloured by family.

    Returns:
        The PNG bytes (the same build gives the same bytes), or None when matplotlib is not installed or no config
        is calibrated.
    """
    curves, flat = varying_curves(manifest)
    if not curves:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    families = sorted({config_name.split("-")[0] for config_name in curves})
    colours = {family: plt.get_cmap("tab10")(number) for number, family in enumerate(families)}
    markers = "osD^v<>p*h"
    figure, axes = plt.subplots(figsize=(10, 4.8), dpi=100)
    positions = list(range(len(_STEPS)))
    seen: dict[str, int] = {}
    for config_name, values in curves.items():
        family = config_name.split("-")[0]
        seen[family] = seen.get(family, -1) + 1
        axes.plot(positions, values, color=colours[family], marker=markers[seen[family] % len(markers)],
                  linewidth=1.5, label=config_name)
    axes.set_xticks(positions, ["1", "2", "4", "all"])
    axes.set_xlabel("answer units decoded per step")
    axes.set_ylabel("oracle accuracy (random order, sampled)")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(f"ParallelBench {manifest['version']}: a perfect model under parallel decoding\n"
                   f"({flat} more calibrated configs have one correct answer and stay at 1.0)", fontsize=11)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
