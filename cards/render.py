"""Render the dataset card (README.md) of a build from the template and the build's manifest.

A build writes a card for the local folder; a push renders it again for the Hub, with the repository id and the
version tag in the load line, one example row per family and the calibration plot.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from importlib.metadata import PackageNotFoundError, metadata
from string import Template
from typing import Any

from ..answers import ENUMERATION_LIMIT
from ..schema import CANARY

#: The paper's own code (the original release), linked from every card.
PAPER_CODE_URL = "https://github.com/furiosa-ai/ParallelBench"

#: The config a bare ``load_dataset(repo)`` loads, when the build has it.
DEFAULT_CONFIG = "waiting_line-shuffle"

_EXAMPLE_CHARS = 700


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


def readable_count(count: int) -> str:
    """A count of answers a reader takes in at a glance: exact up to a million, else like ``2.1e13``."""
    if count < 1_000_000:
        return str(count)
    mantissa, exponent = f"{count:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def readable_answer_counts(n_answers: str) -> str:
    """The manifest's ``"5-20922789887999"`` as ``5 .. 2.1e13``; a single count as itself; empty as "uncounted"."""
    if not n_answers:
        return "uncounted"
    low, _, high = n_answers.partition("-")
    return readable_count(int(low)) + (f" .. {readable_count(int(high))}" if high else "")


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket of a row count."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                         (10_000_000, "1M<n<10M")):
        if rows < limit:
            return label
    return "n>10M"


def calibration_coverage(manifest: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per family: (rows with an oracle calibration, test rows), from the tiers each config's manifest entry counts."""
    coverage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in manifest["configs"].values():
        tiers = (entry.get("difficulty") or {}).get("tiers", {})
        family = coverage[entry["task"].split("/")[0]]
        family[0] += sum(count for tier, count in tiers.items() if tier != "None")
        family[1] += entry["splits"].get("test", 0)
    return {family: (calibrated, rows) for family, (calibrated, rows) in sorted(coverage.items())}


def package_source_url() -> str | None:
    """The source repository of the installed `parallelbench` package, from its metadata (``[project.urls]``)."""
    try:
        urls = metadata("parallelbench").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    by_label = dict(url.split(", ", 1) for url in urls if ", " in url)
    return by_label.get("Repository") or by_label.get("Source") or by_label.get("Homepage")


def render_card(manifest: dict[str, Any], *, repo_id: str | None = None, revision: str | None = None,
                examples: dict[str, dict[str, Any]] | None = None, plot: str | None = None,
                source_url: str | None = None) -> str:
    """Return the dataset card of a build.

    Args:
        manifest: The build's manifest (see `parallelbench.build`); its ``configs`` give the YAML config list.
        repo_id: The Hub repository the card is for (``"org/name"``); None for the card of a local folder.
        revision: The version tag readers should pin (``"v1.2.0"``); with `repo_id`.
        examples: One row per family (family -> row) to show; none shown when None.
        plot: The relative path of the calibration plot to embed (see `parallelbench.cards.plot_png`).
        source_url: Where the `parallelbench` package's code is (default: the package metadata's repository URL).

    Returns:
        The README.md text, with the Hub YAML front matter (configs, default config, size category).
    """
    configs = manifest["configs"]
    default = DEFAULT_CONFIG if DEFAULT_CONFIG in configs else next(iter(configs))
    total_rows = sum(sum(entry["splits"].values()) for entry in configs.values())
    release = manifest.get("edition") == "release"  # rows imported by parallelbench.release: their own card
    template_name = "release_card.md" if release else "dataset_card.md"
    template = Template(resources.files(__package__).joinpath(template_name).read_text(encoding="utf-8"))
    return _with_model_curves(manifest, template.substitute(
        **(_release_fields(manifest) if release else {}),
        configs_yaml=_configs_yaml(configs, default),
        size_category=size_category(total_rows),
        version=manifest["version"],
        package_version=manifest["versions"]["parallelbench"],
        faker_version=manifest["versions"].get("faker", "not used"),
        load_section=_load_section(default, repo_id, revision),
        install_section=_install_section(source_url or package_source_url(), manifest["versions"]["parallelbench"]),
        paper_code_url=PAPER_CODE_URL,
        config_count=len(configs),
        total_rows=total_rows,
        config_table=_config_table(configs, with_task=release),
        calibration_section=_calibration_section(manifest, plot),
        examples_section=_examples_section(examples or {}),
        example_chars=_EXAMPLE_CHARS,
        enumeration_limit=f"{ENUMERATION_LIMIT:,}",
        canary=CANARY,
        grammar_backend=manifest["scoring_backends"]["grammar"],
        similarity_method=manifest["scoring_backends"]["similarity"],
    ))


def _configs_yaml(configs: dict[str, Any], default: str) -> str:
    lines = []
    for config_name, entry in configs.items():
        lines.append(f"- config_name: {config_name}")
        if config_name == default:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in entry["splits"]:
            lines.append(f"  - split: {split}\n    path: data/{config_name}/{split}-*.parquet")
    return "\n".join(lines)


def _load_section(default: str, repo_id: str | None, revision: str | None) -> str:
    if repo_id is None:
        call = f'load_dataset("parallelbench", "{default}", split="test")  # run beside this folder, offline'
        note = "This is the card of a local build; `parallelbench push` renders it again for the Hub."
    else:
        pin = f', revision="{revision}"' if revision else ""
        call = f'load_dataset("{repo_id}", "{default}", split="test"{pin})'
        note = (f'`revision="{revision}"` pins this version: a published version never changes, while `main` moves '
                "to the newest one." if revision else "")
    return (f"```python\nfrom datasets import load_dataset\n\nrows = {call}\n```\n\n{note} Any other task loads "
            "by its config name (the table below): the task name with `/` replaced by `-`.")


def _install_section(source_url: str | None, package_version: str) -> str:
    if source_url:
        return (f'```bash\npip install "parallelbench @ git+{source_url}"\n```\n\n'
                f"Code: [{source_url}]({source_url}). This card was built by `parallelbench` {package_version}.")
    return ("```bash\npip install .        # in a clone of the parallelbench package's source\n```\n\n"
            f"This card was built by `parallelbench` {package_version}.")


def _config_table(configs: dict[str, Any], with_task: bool = False) -> str:
    lines = []
    for config_name, entry in configs.items():
        curve = (entry.get("difficulty") or {}).get("curves", {}).get("random/sample")
        shown = " / ".join(f"{curve[k]:.2f}" for k in ("1", "2", "4", "all")) if curve else "not calibrated"
        task = f" `{entry['task']}` |" if with_task else ""
        lines.append(f"| `{config_name}` |{task} {entry['splits'].get('test', 0)} | "
                     f"{readable_answer_counts(entry.get('n_answers') or '')} | {shown} |")
    return "\n".join(lines)


def _calibration_section(manifest: dict[str, Any], plot: str | None) -> str:
    lines = []
    if plot:
        alt = "A perfect model's accuracy against answer units decoded per step, one line per task whose accuracy falls"
        lines += [f"![{alt}]({plot})", ""]
    lines += ["| family | test rows with an oracle calibration |", "|---|---|"]
    for family, (calibrated, rows) in calibration_coverage(manifest).items():
        lines.append(f"| `{family}` | {calibrated} of {rows} |")
    return "\n".join(lines)


def _examples_section(examples: dict[str, dict[str, Any]]) -> str:
    if not examples:
        return "`parallelbench generate <task> --n 1 --out row.jsonl` writes a row of any task."
    blocks = []
    for family, row in examples.items():
        prompt = row["prompt"] if len(row["prompt"]) <= _EXAMPLE_CHARS else row["prompt"][:_EXAMPLE_CHARS] + " [...]"
        count = row["n_answers"]
        if count is None:
            answers = "one good answer; free text is graded by the scorer"
        else:
            answers = "the only correct answer" if count == 1 else f"one of {readable_count(count)} correct answers"
        blocks.append(f"### `{row['task']}`\n\n{_fenced(prompt)}\n\n"
                      f"Gold answer ({answers}):\n\n{_fenced(row['answer'])}")
    return "\n\n".join(blocks)


def _fenced(text: str) -> str:
    fence = "~~~~" if "```" in text else "```"
    return f"{fence}text\n{text}\n{fence}"


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
