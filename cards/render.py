"""Render the dataset card (README.md of a build) from the template and the build's manifest."""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any

from ..schema import CANARY


def _oracle_curve(difficulty: dict[str, Any] | None) -> str:
    """The oracle's mean accuracy at k = 1, 2, 4, all tokens per step (random order, sampled values), or a dash."""
    curve = (difficulty or {}).get("curves", {}).get("random/sample")
    if not curve:
        return "-"
    return " / ".join(f"{curve[k]:.2f}" for k in ("1", "2", "4", "all"))


def render_card(manifest: dict[str, Any]) -> str:
    """Return the dataset card of a build.

    Args:
        manifest: The build's manifest (see `parallelbench.build`); its ``configs`` give the YAML config list.

    Returns:
        The README.md text, with the Hub ``configs`` YAML front matter.
    """
    configs = manifest["configs"]
    configs_yaml = []
    table = []
    for config_name, entry in configs.items():
        configs_yaml.append(f"- config_name: {config_name}\n  data_files:")
        for split in entry["splits"]:
            configs_yaml.append(f"  - split: {split}\n    path: data/{config_name}/{split}-*.parquet")
        answers = entry.get("n_answers") or "uncounted"
        table.append(f"| `{config_name}` | `{entry['task']}` | {entry['splits'].get('test', 0)} | {answers} | "
                     f"{_oracle_curve(entry.get('difficulty'))} |")
    template = Template(resources.files(__package__).joinpath("dataset_card.md").read_text(encoding="utf-8"))
    return _with_model_curves(manifest, template.substitute(
        configs_yaml="\n".join(configs_yaml),
        config_table="\n".join(table),
        version=manifest["version"],
        package_version=manifest["versions"]["parallelbench"],
        canary=CANARY,
        grammar_backend=manifest["scoring_backends"]["grammar"],
        similarity_method=manifest["scoring_backends"]["similarity"],
    ))


# --- Model curves (issue 10): the plots of `parallelbench calibrate FOLDER --model PATH`, appended to the card. ---

def _with_model_curves(manifest: dict[str, Any], card: str) -> str:
    """Append a section showing each model's speed-quality PNG beside the oracle's (``manifest["model_plots"]``)."""
    plots = manifest.get("model_plots") or {}
    if not plots:
        return card
    lines = ["", "## Model curves", "",
             "Accuracy against mean tokens per step of neural models decoded on test rows spread evenly over the row "
             "lengths, with the oracle's curve on the same rows (`parallelbench calibrate FOLDER --model PATH`; the "
             "points are in the JSON beside each plot).", ""]
    for slug, path in sorted(plots.items()):
        lines += [f"### {slug}", "", f"![speed-quality curves of {slug}]({path})", ""]
    return card.rstrip("\n") + "\n" + "\n".join(lines)
