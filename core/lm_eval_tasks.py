"""Task files for EleutherAI's lm-evaluation-harness (lm-eval >= 0.4) that grade with ParallelBench's own scorers.

`write_lm_eval_tasks` writes, into one folder that lm-eval reads with ``--include_path``:

- ``parallelbench_<config>.yaml``: one ``generate_until`` task per config (e.g. ``parallelbench_waiting_line-shuffle``);
- ``parallelbench.yaml``: the group ``parallelbench`` over them, averaging ``accuracy`` and ``score`` weighted by size;
- ``utils.py``: the two hooks the YAML names with lm-eval's ``!function`` tag, imported from this module.

The prompt is the row's ``messages`` as plain text turns (`doc_to_text`), so every model sees the one-shot example the
same way; grading is `parallelbench.score` (lenient), so lm-eval reports exactly what our own scorer reports.
lm-eval is not a dependency: this module only writes text, and the hooks need nothing but ``parallelbench``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .api import generate, score
from .errors import UsageError
from .folder import read_manifest, read_rows
from .registry import get_task
from .splits import SPLIT_SEEDS

#: The group's name and the prefix of every task name.
GROUP = "parallelbench"

#: The ``utils.py`` written next to the YAML files; lm-eval loads it from there by file path. It imports the hooks
#: from the installed package, and survives one trap: started with ``python -m``, a notebook or ``python -c`` in the
#: build folder's parent, the folder ``./parallelbench`` (no ``__init__.py``) is found first as a namespace package
#: in place of an editable install; the hooks then import with the working directory left out of the search path.
UTILS_PY = '''"""lm-evaluation-harness hooks for ParallelBench (written by parallelbench.lm_eval_tasks; regenerate, do not edit)."""

import os
import sys


def _import_hooks():
    try:
        from parallelbench.lm_eval_tasks import doc_to_text, process_results
        return doc_to_text, process_results
    except ImportError as error:
        shadow = sys.modules.get("parallelbench")
        if shadow is None or getattr(shadow, "__file__", None) is not None:
            raise ImportError(f"the lm-eval hooks of ParallelBench need the parallelbench package ({error}); fix: "
                              "pip install parallelbench in the Python that runs lm-eval") from error
        # A folder named parallelbench in a search-path entry (the build folder) shadows the installed package.
        shadowing = [entry for entry in sys.path
                     if os.path.join(os.path.abspath(entry or "."), "parallelbench") in list(shadow.__path__)]
        saved = list(sys.path)
        del sys.modules["parallelbench"]
        sys.path[:] = [entry for entry in sys.path if entry not in shadowing]
        try:
            from parallelbench.lm_eval_tasks import doc_to_text, process_results
        except ImportError as again:
            raise ImportError(f"the folder {shadow.__path__[0]} shadows the installed parallelbench package and "
                              f"the package was not found without it ({again}); fix: start lm-eval from another "
                              "directory, or pip install parallelbench (not editable)") from again
        finally:
            sys.path[:] = saved
        return doc_to_text, process_results


doc_to_text, process_results = _import_hooks()

__all__ = ["doc_to_text", "process_results"]
'''


def doc_to_text(doc: Mapping[str, Any]) -> str:
    """Render a row's chat turns as plain text, ending with the cue for the model's answer.

    The format is ``User: <one-shot prompt>\\n\\nAssistant: <one-shot answer>\\n\\nUser: <prompt>\\n\\nAssistant:``
    (turns joined by a blank line, each role capitalised), so a base model and a chat model read the same text.

    Args:
        doc: A ParallelBench row (only ``messages`` is read).

    Returns:
        The prompt text for the model.
    """
    turns = [f"{message['role'].capitalize()}: {message['content']}" for message in doc["messages"]]
    return "\n\n".join([*turns, "Assistant:"])


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, float]:
    """Grade the model's first generation with `parallelbench.score` (lenient).

    Args:
        doc: A ParallelBench row.
        results: lm-eval's generations for the row; the first is graded.

    Returns:
        ``accuracy`` (1.0 when the answer is correct, else 0.0) and ``score`` (the task's graded value in [0, 1]).
    """
    verdict = score(doc, results[0])
    return {"accuracy": float(verdict.correct), "score": float(verdict.value)}


def write_lm_eval_tasks(out_dir: str | os.PathLike[str], dataset_path: str | os.PathLike[str],
                        configs: Sequence[str] | str | os.PathLike[str], *, revision: str | None = None) -> list[Path]:
    """Write lm-eval task files for ParallelBench configs: one YAML per config, the group YAML and ``utils.py``.

    Run them with ``lm_eval --include_path OUT_DIR --tasks parallelbench ...`` (or one task, e.g.
    ``parallelbench_waiting_line-shuffle``). Files already in `out_dir` with the same names are replaced.

    Args:
        out_dir: The folder to write into (created if missing).
        dataset_path: What lm-eval passes to ``datasets.load_dataset``: a built folder (written as its absolute path)
            or a Hub id such as ``org/parallelbench``.
        configs: A built folder (a ``str`` or path: its manifest's configs are used, and its test rows size each
            task's token budget) or a sequence of config names (the published test rows are generated to size it).
        revision: The Hub revision to load (e.g. ``v1.0.0``); written as ``dataset_kwargs.revision`` only when given.

    Returns:
        The written files: the task YAMLs in config order, then ``parallelbench.yaml``, then ``utils.py``.

    Raises:
        ValueError: When `configs` is a folder that is not a build, names an unknown config, or is empty.
    """
    rows_by_config, version = _test_rows(configs)
    if not rows_by_config:
        raise UsageError("no configs to write lm-eval tasks for")
    local = Path(dataset_path)
    location = str(local.resolve()) if local.is_dir() else str(dataset_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for config_name, rows in rows_by_config.items():
        text = _task_yaml(config_name, location, _max_gen_toks(rows), version, revision)
        written.append(_write(out / f"{task_name(config_name)}.yaml", text))
    written.append(_write(out / f"{GROUP}.yaml", _group_yaml(list(rows_by_config), version)))
    written.append(_write(out / "utils.py", UTILS_PY))
    return written


def task_name(config_name: str) -> str:
    """The lm-eval task name of a config, e.g. ``parallelbench_waiting_line-shuffle``."""
    return f"{GROUP}_{config_name}"


def _test_rows(configs: Sequence[str] | str | os.PathLike[str]) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Config name -> its test rows, and the benchmark version (the build's, or the package's for generated rows)."""
    if isinstance(configs, (str, os.PathLike)):
        manifest = read_manifest(configs)
        rows_by_config: dict[str, list[dict[str, Any]]] = {
            name: [] for name, entry in manifest["configs"].items() if "test" in entry["splits"]}
        for row in read_rows(configs, "test"):
            rows_by_config[get_task(row["task"]).config_name].append(row)
        return rows_by_config, str(manifest["version"])
    specs = [get_task(name) for name in configs]
    return {spec.config_name: generate(spec.name, seed=SPLIT_SEEDS["test"]) for spec in specs}, __version__


def _max_gen_toks(rows: Sequence[Mapping[str, Any]]) -> int:
    """A generation budget that fits any correct answer with room for some prose around it.

    A token holds at least one UTF-8 byte for byte-level and byte-fallback tokenizers, so the longest gold answer's
    byte count bounds its tokens; twice that (rounded up to a multiple of 64, at least 64) leaves room for a longer
    free-text answer or a short preamble, which lenient scoring forgives.
    """
    longest = max((len(row["answer"].encode("utf-8")) for row in rows), default=0)
    return max(64, -(-2 * longest // 64) * 64)


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML), safe for any path, id or revision."""
    return json.dumps(text)


def _task_yaml(config_name: str, location: str, max_gen_toks: int, version: str, revision: str | None) -> str:
    """One task's YAML, written by hand because ``yaml.safe_dump`` cannot emit lm-eval's ``!function`` tag."""
    dataset_kwargs = f"dataset_kwargs:\n  revision: {_quoted(revision)}\n" if revision is not None else ""
    return (
        "# Written by parallelbench.lm_eval_tasks; regenerate rather than edit.\n"
        f"task: {_quoted(task_name(config_name))}\n"
        f"dataset_path: {_quoted(location)}\n"
        f"dataset_name: {_quoted(config_name)}\n"
        f"{dataset_kwargs}"
        "test_split: test\n"
        "output_type: generate_until\n"
        "doc_to_text: !function utils.doc_to_text\n"
        "doc_to_target: answer\n"
        "process_results: !function utils.process_results\n"
        "generation_kwargs:\n"
        "  until: [\"\\n\\nUser:\"]\n"
        "  do_sample: false\n"
        "  temperature: 0.0\n"
        f"  max_gen_toks: {max_gen_toks}\n"
        "metric_list:\n"
        "  - metric: accuracy\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
        "  - metric: score\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
        "metadata:\n"
        f"  version: {_quoted(version)}\n"
    )


def _group_yaml(config_names: Sequence[str], version: str) -> str:
    """The group YAML (lm-eval 0.4 format): every task, with size-weighted means of both metrics."""
    tasks = "".join(f"  - {_quoted(task_name(name))}\n" for name in config_names)
    return (
        "# Written by parallelbench.lm_eval_tasks; regenerate rather than edit.\n"
        f"group: {GROUP}\n"
        f"task:\n{tasks}"
        "aggregate_metric_list:\n"
        "  - metric: accuracy\n"
        "    aggregation: mean\n"
        "    weight_by_size: true\n"
        "  - metric: score\n"
        "    aggregation: mean\n"
        "    weight_by_size: true\n"
        "metadata:\n"
        f"  version: {_quoted(version)}\n"
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
