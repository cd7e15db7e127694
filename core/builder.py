"""Build the Hub-ready benchmark folder: Parquet shards per config and split, a manifest, and the dataset card.

Rows stream from the generators through the (optional) calibration into Parquet shards of at most
`ROWS_PER_SHARD` rows (``data/<config>/train-00000-of-00004.parquet``, the Hub's naming), so memory stays flat
whatever the split sizes. Everything is written into a staging folder beside the target and swapped in only when
complete (see `parallelbench.staging`): an interrupted or failed build never leaves a half folder, a second build
into the same folder fails at once, and a folder that holds another build is replaced only when asked.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from .folder import (MANIFEST, ROWS_PER_SHARD, ShardWriter, check_replaceable, check_version, installed_version,
                     scoring_backends, seal)
from .generators.people import name_tables_sha256
from .parallel import default_workers, worker_pool
from .reference_decoding.calibrate import calibrate_rows, one_blas_thread, record_curves
from .registry import get_task, task_names
from .schema import ROW_SCHEMA
from .splits import SPLIT_SEEDS, check_splits, split_tables
from .staging import staged

__all__ = ["MANIFEST", "build"]


def _code_hashes(tasks: Sequence[str]) -> dict[str, str]:
    """sha256 of the source of every generator and validator module the build used."""
    modules = {inspect.getmodule(function) for task in tasks
               for function in (get_task(task).generate, get_task(task).check)}
    return {module.__name__: hashlib.sha256(inspect.getsource(module).encode()).hexdigest()
            for module in sorted(modules, key=lambda module: module.__name__)}


def _difficulty_filled(table: pa.Table, workers: int, pool: Any) -> pa.Table:
    rows = calibrate_rows(table.to_pylist(), workers=workers, pool=pool)
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


def _write_split(staging: Path, name: str, split: str, count: int | None, seen: set[str], *, remember: bool,
                 calibrate: bool, rows_per_shard: int, pool: Any, workers: int, bar: tqdm) -> dict[str, Any]:
    """Stream one split of one task into its shards; return what the manifest and the curves need of it."""
    spec = get_task(name)
    rows = spec.rows if count is None else count
    writer = ShardWriter(staging / "data" / spec.config_name, split, rows, rows_per_shard)
    inputs: set[str] = set()
    summary: dict[str, Any] = {"params": None, "n_answers": [], "difficulties": []}
    try:
        for table in split_tables(name, split, count, seen, pool=pool, workers=workers, bar=bar):
            if calibrate:
                table = _difficulty_filled(table, workers, pool)
            writer.write(table)
            if remember:  # a later split must not reuse these inputs
                inputs.update(table.column("reference").to_pylist())
            if table.num_rows and summary["params"] is None:
                summary["params"] = json.loads(table.column("metadata")[0].as_py())["params"]
            extremes = pc.min_max(table.column("n_answers"))
            summary["n_answers"] += [value for value in (extremes["min"].as_py(), extremes["max"].as_py())
                                     if value is not None]
            if calibrate and split == "test":
                summary["difficulties"] += table.column("difficulty").to_pylist()
    except BaseException:
        writer.abort()
        raise
    writer.close()
    seen.update(inputs)
    summary["rows"] = writer.written
    return summary


def build(out: str | os.PathLike[str] = "parallelbench", version: str = "0.1.0", *, tasks: Sequence[str] | None = None,
          splits: Mapping[str, int | None] | None = None, calibrate: bool = True, workers: int | None = None,
          progress: bool = False, overwrite: bool = False, rows_per_shard: int = ROWS_PER_SHARD) -> Path:
    """Build the benchmark folder: ``data/<config>/<split>-00000-of-00001.parquet``, ``manifest.json``, ``README.md``.

    From the folder's parent, ``load_dataset("<folder name>", "<config>", split="test")`` loads it offline.

    Args:
        out: The folder to build.
        version: The benchmark version, a semantic version (``1.2.0``), written into the manifest and the card.
        tasks: Which tasks (default: every registered task).
        splits: Split name -> rows per task (None: the task's published count); the test split is always built
            (with its published count unless given). Seeds are fixed per split (`SPLIT_SEEDS`) and no input appears
            in two splits.
        calibrate: Fill every row's ``difficulty`` with the oracle calibration and write per-task curves to
            ``calibration/<config>.json`` (see `parallelbench.reference_decoding.calibrate`).
        workers: Worker processes for generation and calibration (default: every core); the output is the same
            for any count.
        progress: Show progress bars.
        overwrite: Replace `out` when it holds another build (without it, that is an error naming the build).
        rows_per_shard: The most rows in one Parquet file; larger splits are cut into several shards.

    Returns:
        The path of the finished folder.

    Raises:
        UsageError: For a version that is not semantic, or an unknown task, split or parameter.
        FolderError: When `out` exists and is not a build, holds a build and `overwrite` is False, or is being
            written by another process.
    """
    check_version(version)
    sizes = {"test": None, **(splits or {})}
    check_splits(sizes)
    names = sorted({get_task(task).name for task in (tasks if tasks is not None else task_names())})
    workers = default_workers() if workers is None else workers
    target = Path(out)
    requested = [split for split in SPLIT_SEEDS if split in sizes]
    with staged(target) as staging:
        check_replaceable(target, overwrite)
        configs: dict[str, Any] = {}
        with worker_pool(workers, initializer=one_blas_thread) as pool, \
                tqdm(unit="row", desc="building", disable=not progress) as bar:
            for name in names:
                spec = get_task(name)
                seen: set[str] = set()
                summaries = {split: _write_split(staging, name, split, sizes[split], seen,
                                                 remember=split != requested[-1], calibrate=calibrate,
                                                 rows_per_shard=rows_per_shard, pool=pool, workers=workers, bar=bar)
                             for split in requested}
                test = summaries["test"]
                counts = sorted(test["n_answers"])
                configs[spec.config_name] = {
                    "task": name,
                    "splits": {split: summary["rows"] for split, summary in summaries.items()},
                    "seeds": {split: SPLIT_SEEDS[split] for split in summaries},
                    "params": test["params"] or {},
                    "n_answers": f"{counts[0]}-{counts[-1]}" if counts and counts[0] != counts[-1]
                    else (str(counts[0]) if counts else ""),
                    "generator_version": spec.version,
                }
                if calibrate:
                    record_curves(staging, configs, spec.config_name,
                                  [{"task": name, "difficulty": difficulty} for difficulty in test["difficulties"]])
        manifest: dict[str, Any] = {
            "name": "parallelbench",
            "version": version,
            "versions": {
                "parallelbench": installed_version("parallelbench"),
                "python": platform.python_version(),
                "faker": installed_version("faker"),
                "pyarrow": installed_version("pyarrow"),
            },
            "scoring_backends": scoring_backends(),
            "configs": configs,
            "code_sha256": _code_hashes(names),
            "name_tables_sha256": name_tables_sha256(),
        }
        seal(staging, manifest)
    return target
