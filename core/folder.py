"""A built benchmark folder: its manifest, its Parquet shards, and checks that nothing changed since the build.

Writing (`ShardWriter`, `seal`) and reading (`read_manifest`, `read_rows`, `checksum_problems`, `gold_problems`) live
together so that the layout (``data/<config>/<split>-00000-of-00002.parquet``, ``manifest.json``, ``README.md``) is
defined in one place. Commands that change a folder do it on a staging copy (see `parallelbench.staging`).
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .api import score_many
from .cards import render_card
from .errors import FolderError, UsageError
from .schema import PARQUET_OPTIONS, ROW_SCHEMA

MANIFEST = "manifest.json"
#: Rows per Parquet shard of one split of one config; a split of more rows is cut into several shards.
ROWS_PER_SHARD = 250_000

_SEMANTIC_VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")


def check_version(version: object) -> str:
    """Return `version` when it is a semantic version (``1.2.0``, ``1.2.0-rc.1``).

    Raises:
        UsageError: Otherwise; for ``v1.2.0`` the message says to drop the ``v`` (the Hub tag adds it).
    """
    if isinstance(version, str) and _SEMANTIC_VERSION.fullmatch(version):
        return version
    hint = ""
    if isinstance(version, str) and version[:1] in "vV" and _SEMANTIC_VERSION.fullmatch(version[1:]):
        hint = f"; write {version[1:]} (the Hub tag adds the v: v{version[1:]})"
    raise UsageError(f"version must be a semantic version MAJOR.MINOR.PATCH such as 1.2.0, got {version!r}{hint}")


def shard_names(split: str, rows: int, rows_per_shard: int = ROWS_PER_SHARD) -> list[str]:
    """Return the file names of a split's shards, in the Hub's naming: ``train-00000-of-00004.parquet``, ...

    A split of 0 rows still has one (empty) shard, so that its config loads.
    """
    count = max(1, -(-rows // rows_per_shard))
    return [f"{split}-{number:05d}-of-{count:05d}.parquet" for number in range(count)]


class ShardWriter:
    """Writes the rows of one split of one config into shards of at most `rows_per_shard` rows, as they come.

    Only one Arrow table (the one being written) is held at a time, so memory stays flat whatever the split's size.

    Args:
        folder: The config's folder (``data/<config>``).
        split: The split name.
        rows: How many rows will be written in all (fixes the number of shards and so their names).
        rows_per_shard: Rows per shard.
    """

    def __init__(self, folder: Path, split: str, rows: int, rows_per_shard: int = ROWS_PER_SHARD) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._paths = [folder / name for name in shard_names(split, rows, rows_per_shard)]
        self._rows_per_shard, self._expected = rows_per_shard, rows
        self._writer: pq.ParquetWriter | None = None
        self._shard, self._in_shard, self.written = -1, 0, 0

    def _next_shard(self) -> pq.ParquetWriter:
        if self._writer is not None:
            self._writer.close()
        self._shard += 1
        self._in_shard = 0
        self._writer = pq.ParquetWriter(self._paths[self._shard], ROW_SCHEMA, **PARQUET_OPTIONS)
        return self._writer

    def write(self, table: pa.Table) -> None:
        """Append rows (a table with `ROW_SCHEMA`), starting a new shard whenever one is full."""
        offset = 0
        while offset < table.num_rows:
            writer = self._writer
            if writer is None or self._in_shard == self._rows_per_shard:
                writer = self._next_shard()
            take = min(table.num_rows - offset, self._rows_per_shard - self._in_shard)
            writer.write_table(table.slice(offset, take))
            offset += take
            self._in_shard += take
            self.written += take

    def abort(self) -> None:
        """Close the open shard after a failure (the staging folder holding it is about to be deleted)."""
        if self._writer is not None:
            self._writer.close()

    def close(self) -> None:
        """Finish the last shard (or write the one empty shard of an empty split)."""
        if self._writer is None:
            self._next_shard()
        assert self._writer is not None
        self._writer.close()
        if self.written != self._expected or self._shard != len(self._paths) - 1:
            raise RuntimeError(f"wrote {self.written} rows into {self._shard + 1} shards, planned {self._expected} "
                               f"rows in {len(self._paths)}")


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Write rows to one Parquet file with the shared row schema (same rows -> same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), path, **PARQUET_OPTIONS)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the card and the manifest (with the sha256 of every other file) into `folder`."""
    (folder / "README.md").write_text(render_card(manifest), encoding="utf-8")
    manifest["files"] = {
        path.relative_to(folder).as_posix(): _sha256(path)
        for path in sorted(folder.rglob("*")) if path.is_file() and path.name != MANIFEST
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _manifest_problem(manifest: Any) -> str:
    """Return what makes a manifest unusable (the first thing found), or "" when its shape is right."""
    if not isinstance(manifest, dict):
        return f"it must be a JSON object, not {type(manifest).__name__}"
    for key, kind in (("version", str), ("configs", dict), ("files", dict)):
        if key not in manifest:
            return f"it has no {key!r}"
        if not isinstance(manifest[key], kind):
            return f"{key!r} must be a JSON {'string' if kind is str else 'object'}, not {type(manifest[key]).__name__}"
    for name, entry in manifest["configs"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("task"), str):
            return f"configs[{name!r}] must be an object with a 'task' name"
        splits = entry.get("splits")
        if not (isinstance(splits, dict) and splits
                and all(type(count) is int and count >= 0 for count in splits.values())):
            return f"configs[{name!r}]['splits'] must map split names to row counts"
    for relative, digest in manifest["files"].items():
        path = PurePosixPath(relative)
        if path.is_absolute() or ".." in path.parts or not relative:
            return f"files lists {relative!r}, which is not a path inside the folder"
        if not (isinstance(digest, str) and re.fullmatch("[0-9a-f]{64}", digest)):
            return f"files[{relative!r}] must be a sha256 hex digest"
    return ""

#: Files the Hub itself adds to every repository: a downloaded release holds them, its manifest does not.
HUB_FILES = frozenset({".gitattributes"})


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Return a build's manifest, checked for the shape every reader relies on.

    Raises:
        FolderError: When `folder` is not a ParallelBench build, or its manifest is not valid JSON or has the wrong
            shape (the message says what is wrong).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FolderError(f"{folder} is not a ParallelBench build (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise FolderError(f"{path} is not valid JSON ({error}); rebuild the folder") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise FolderError(f"{path} is malformed: {problem}; rebuild the folder")
    return manifest


def read_rows(folder: str | Path, split: str = "test") -> list[dict[str, Any]]:
    """Return every row of one split of a build, config after config, shard after shard."""
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
        elif _sha256(path) != expected:
            problems.append(f"checksum mismatch: {relative}")
    listed = set(manifest["files"]) | {MANIFEST} | HUB_FILES
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.relative_to(root).as_posix() not in listed and ".cache" not in path.parts:
            problems.append(f"file not in manifest: {path.relative_to(root).as_posix()}")
    return problems


def gold_problems(folder: str | Path, split: str = "test", *, progress: bool = False) -> list[str]:
    """Return one line per row whose gold answer fails its own validator (strict mode); `progress` shows a bar."""
    rows = read_rows(folder, split)
    verdicts = []
    with tqdm(total=len(rows), desc="checking gold answers", unit="row", disable=not progress, leave=False) as bar:
        for start in range(0, len(rows), GOLD_CHUNK):
            chunk = rows[start:start + GOLD_CHUNK]
            verdicts += score_many(chunk, [row["answer"] for row in chunk], strict=True)
            bar.update(len(chunk))
    return [f"{row['id']}: gold answer fails ({verdict.reason})" for row, verdict in zip(rows, verdicts) if not verdict.correct]


#: Rows scored between two updates of the progress bar of `gold_problems`.
GOLD_CHUNK = 500


def installed_version(distribution: str) -> str:
    """The installed version of a distribution, or "not installed" (recorded in manifests)."""
    try:
        return package_version(distribution)
    except PackageNotFoundError:
        return "not installed"


def scoring_backends() -> dict[str, str]:
    """The named, versioned backends that grade the text tasks here, so a card says what its scores mean."""
    from .scoring import grammar, similarity

    backend = grammar.get_backend()
    method = similarity.MODEL_METHOD if similarity.model_available() else similarity.FALLBACK_METHOD
    return {"grammar": f"{backend.name} ({backend.version})", "similarity": method}


def check_replaceable(target: Path, overwrite: bool) -> None:
    """Refuse to replace anything but an empty folder or, with `overwrite`, a previous build.

    Raises:
        FolderError: Naming what would be replaced (its version and rows) and how to replace it anyway.
    """
    if not target.exists():
        return
    if not target.is_dir() or (any(target.iterdir()) and not (target / MANIFEST).is_file()):
        raise FolderError(f"refusing to replace {target}: it exists and is not a ParallelBench build (no {MANIFEST})")
    if overwrite or not (target / MANIFEST).is_file():
        return
    try:
        manifest = read_manifest(target)
        rows = sum(sum(entry["splits"].values()) for entry in manifest["configs"].values())
        what = f"version {manifest['version']}, {len(manifest['configs'])} configs, {rows:,} rows"
    except FolderError:
        what = "a build whose manifest is unreadable"
    raise FolderError(f"{target} already holds a build ({what}); pass --overwrite (overwrite=True) to replace it")
