"""Reading a built benchmark folder back: its manifest, its rows, and checks that nothing changed since the build."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .api import score_many
from .build import MANIFEST
from .errors import FolderError


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Return a build's manifest.

    Raises:
        ValueError: When `folder` is not a ParallelBench build.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FolderError(f"{folder} is not a ParallelBench build (no {MANIFEST})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise FolderError(f"{path} is not valid JSON ({error})") from None


def read_rows(folder: str | Path, split: str = "test") -> list[dict[str, Any]]:
    """Return every row of one split of a build, config after config, in file order."""
    manifest = read_manifest(folder)
    rows: list[dict[str, Any]] = []
    for config_name, entry in manifest["configs"].items():
        if split in entry["splits"]:
            for path in sorted((Path(folder) / "data" / config_name).glob(f"{split}-*.parquet")):
                rows.extend(pq.read_table(path).to_pylist())
    return rows


def checksum_problems(folder: str | Path) -> list[str]:
    """Return one line per file whose sha256 differs from the manifest, is missing, or is not listed."""
    manifest, root = read_manifest(folder), Path(folder)
    problems = []
    for relative, expected in manifest["files"].items():
        path = root / relative
        if not path.is_file():
            problems.append(f"missing file: {relative}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            problems.append(f"checksum mismatch: {relative}")
    listed = set(manifest["files"]) | {MANIFEST}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.relative_to(root).as_posix() not in listed and ".cache" not in path.parts:
            problems.append(f"file not in manifest: {path.relative_to(root).as_posix()}")
    return problems


def gold_problems(folder: str | Path, split: str = "test") -> list[str]:
    """Return one line per row whose gold answer fails its own validator (strict mode)."""
    rows = read_rows(folder, split)
    verdicts = score_many(rows, [row["answer"] for row in rows], strict=True)
    return [f"{row['id']}: gold answer fails ({verdict.reason})" for row, verdict in zip(rows, verdicts) if not verdict.correct]
