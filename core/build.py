"""Build the Hub-ready benchmark folder: Parquet per config and split, a manifest, and the dataset card.

The build is atomic: everything is written into a sibling folder, checked, and only then swapped in place of the
target, so an interrupted or failed build never leaves a half folder where a good one was.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import shutil
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .cards import render_card
from .reference_decoding.calibrate import calibrate_rows, task_curves, write_task_curves
from .generators.people import name_tables_sha256
from .splits import SPLIT_SEEDS, assemble_splits
from .registry import get_task, task_names
from .schema import PARQUET_OPTIONS, ROW_SCHEMA

MANIFEST = "manifest.json"


def _version_of(distribution: str) -> str:
    try:
        return package_version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Write rows to one Parquet file with the shared row schema (same rows -> same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), path, **PARQUET_OPTIONS)


def _code_hashes(tasks: Sequence[str]) -> dict[str, str]:
    """sha256 of the source of every generator and validator module the build used."""
    modules = {inspect.getmodule(function) for task in tasks
               for function in (get_task(task).generate, get_task(task).check)}
    return {module.__name__: hashlib.sha256(inspect.getsource(module).encode()).hexdigest()
            for module in sorted(modules, key=lambda module: module.__name__)}


def _scoring_backends() -> dict[str, str]:
    """The named, versioned backends that grade the text tasks here, so a card says what its scores mean."""
    from .scoring import grammar, similarity

    backend = grammar.get_backend()
    method = similarity.MODEL_METHOD if similarity.model_available() else similarity.FALLBACK_METHOD
    return {"grammar": f"{backend.name} ({backend.version})", "similarity": method}


def _check_replaceable(target: Path) -> None:
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / MANIFEST).is_file())):
        raise ValueError(f"refusing to replace {target}: it exists and is not a ParallelBench build (no {MANIFEST})")


def _swap_in(staging: Path, target: Path) -> None:
    """Put `staging` where `target` is; the old target is kept aside until the new one is in place."""
    retired = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(retired)
    try:
        staging.rename(target)
    except OSError:
        if retired.exists():
            retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def build(out: str | os.PathLike[str] = "parallelbench", version: str = "0.1.0", *, tasks: Sequence[str] | None = None,
          splits: Mapping[str, int | None] | None = None, calibrate: bool = True, workers: int = 1,
          progress: bool = False) -> Path:
    """Build the benchmark folder: ``data/<config>/<split>-00000-of-00001.parquet``, ``manifest.json``, ``README.md``.

    From the folder's parent, ``load_dataset("<folder name>", "<config>", split="test")`` loads it offline.

    Args:
        out: The folder to (re)build.
        version: The benchmark version, written into the manifest and the card.
        tasks: Which tasks (default: every registered task).
        splits: Split name -> rows per task (None: the task's published count); default: the test split alone.
            Seeds are fixed per split (`SPLIT_SEEDS`) and no input appears in two splits.
        calibrate: Fill every row's ``difficulty`` with the oracle calibration and write per-task curves to
            ``calibration/<config>.json`` (see `parallelbench.reference_decoding.calibrate`).
        workers: Worker processes for generation and calibration (the output is the same for any count).
        progress: Show progress bars.

    Returns:
        The path of the finished folder.

    Raises:
        ValueError: When `out` exists and is not a previous build, or a task, split or parameter is unknown.
    """
    target = Path(out)
    _check_replaceable(target)
    names = sorted({get_task(task).name for task in (tasks if tasks is not None else task_names())})
    rows_by_task = assemble_splits(names, splits or {"test": None}, workers=workers, progress=progress)
    if calibrate:
        rows_by_task = _calibrated(rows_by_task, workers, progress)
    staging = _staging_for(target)
    try:
        configs = {}
        for name, rows_by_split in rows_by_task.items():
            spec = get_task(name)
            for split, rows in rows_by_split.items():
                write_parquet(rows, staging / f"data/{spec.config_name}/{split}-00000-of-00001.parquet")
            test_rows = rows_by_split["test"]
            counts = sorted({row["n_answers"] for row in test_rows if row["n_answers"] is not None})
            configs[spec.config_name] = {
                "task": name,
                "splits": {split: len(rows) for split, rows in rows_by_split.items()},
                "seeds": {split: SPLIT_SEEDS[split] for split in rows_by_split},
                "params": json.loads(test_rows[0]["metadata"])["params"] if test_rows else {},
                "n_answers": f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else (str(counts[0]) if counts else ""),
                "generator_version": spec.version,
            }
            if calibrate:
                record_curves(staging, configs, spec.config_name, test_rows)
        manifest: dict[str, Any] = {
            "name": "parallelbench",
            "version": version,
            "versions": {
                "parallelbench": _version_of("parallelbench"),
                "python": platform.python_version(),
                "faker": _version_of("faker"),
                "pyarrow": _version_of("pyarrow"),
            },
            "scoring_backends": _scoring_backends(),
            "configs": configs,
            "code_sha256": _code_hashes(names),
            "name_tables_sha256": name_tables_sha256(),
        }
        finish(staging, manifest, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _calibrated(rows_by_task: dict[str, dict[str, list[dict[str, Any]]]], workers: int,
                progress: bool) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Calibrate every row of every split in one call (shared answer structures are then computed once)."""
    flat = [row for rows_by_split in rows_by_task.values() for rows in rows_by_split.values() for row in rows]
    calibrated = iter(calibrate_rows(flat, workers=workers, progress=progress))
    return {name: {split: [next(calibrated) for _ in rows] for split, rows in rows_by_split.items()}
            for name, rows_by_split in rows_by_task.items()}


def record_curves(folder: Path, manifest_configs: dict[str, Any], config_name: str,
                  test_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Write a config's calibration curves to ``calibration/<config>.json`` and summarise them in its manifest entry.

    Returns:
        The curves as written (see `parallelbench.reference_decoding.calibrate.task_curves`).
    """
    curves = task_curves(test_rows)
    write_task_curves(folder, config_name, curves)
    manifest_configs[config_name]["difficulty"] = {key: curves[key] for key in ("curves", "tiers", "unit")}
    return curves


def _staging_for(target: Path) -> Path:
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def finish(staging: Path, manifest: dict[str, Any], target: Path) -> None:
    """Write the card and the manifest (with the sha256 of every file) into `staging`, then swap it in for `target`."""
    (staging / "README.md").write_text(render_card(manifest), encoding="utf-8")
    manifest["files"] = {
        path.relative_to(staging).as_posix(): _sha256(path)
        for path in sorted(staging.rglob("*")) if path.is_file() and path.name != MANIFEST
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _swap_in(staging, target)


def stage_copy(target: Path) -> Path:
    """Copy a build beside itself, to change the copy and `finish` it in place of the original."""
    staging = _staging_for(target)
    shutil.copytree(target, staging, ignore=shutil.ignore_patterns(".cache"))
    return staging
