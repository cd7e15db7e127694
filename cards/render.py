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


def _release_fields(manifest: dict[str, Any]) -> dict[str, str]:
    """The release card's own fields: where the rows come from, and how many rows of each defect it flags."""
    counts: dict[str, int] = {}
    for entry in manifest["configs"].values():
        for code, count in entry.get("release_defects", {}).items():
            counts[code] = counts.get(code, 0) + count
    source = manifest.get("source", {})
    return {
        "source_repository": source.get("repository", "unknown"),
        "source_commit": source.get("commit") or "unknown: not read from a git checkout",
        "defects_table": "\n".join(f"| `{code}` | {counts.get(code, 0)} | {text} |"
                                   for code, text in manifest.get("release_defects", {}).items()),
    }


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
    release = manifest.get("edition") == "release"  # rows imported by parallelbench.release: their own card
    template_name = "release_card.md" if release else "dataset_card.md"
    template = Template(resources.files(__package__).joinpath(template_name).read_text(encoding="utf-8"))
    return template.substitute(
        **(_release_fields(manifest) if release else {}),
        configs_yaml="\n".join(configs_yaml),
        config_table="\n".join(table),
        version=manifest["version"],
        package_version=manifest["versions"]["parallelbench"],
        canary=CANARY,
        grammar_backend=manifest["scoring_backends"]["grammar"],
        similarity_method=manifest["scoring_backends"]["similarity"],
    )
