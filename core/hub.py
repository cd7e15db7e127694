"""Publishing a built folder to the Hugging Face Hub: one commit per version, tagged ``v<version>``.

A published version is never overwritten: the push refuses when the tag exists already. Readers pin a version with
``load_dataset("<org>/parallelbench", "<config>", revision="v<version>")``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .build import MANIFEST
from .errors import UsageError
from .folder import checksum_problems, read_manifest

#: What a new version replaces in the Hub repository (files of configs that were dropped disappear too).
REPLACED_PATTERNS = ["data/**", "calibration/**", "README.md", MANIFEST]


@dataclass
class PushPlan:
    """What a push sends (or, in a dry run, would send).

    Attributes:
        repo_id: The Hub dataset repository.
        tag: The version tag, ``v<version>``.
        files: The folder's files, relative paths.
        total_bytes: Their total size.
        commit: The commit id, once pushed.
    """

    repo_id: str
    tag: str
    files: list[str] = field(default_factory=list)
    total_bytes: int = 0
    commit: str | None = None


def push(folder: str | os.PathLike[str], repo_id: str, version: str | None = None, *, dry_run: bool = False,
         private: bool | None = None, token: str | None = None, api: Any = None) -> PushPlan:
    """Push a built folder to the Hub as one commit tagged ``v<version>``.

    Args:
        folder: A folder made by `parallelbench.build`.
        repo_id: The dataset repository, ``"<org>/parallelbench"``.
        version: The version to publish; must equal the version the folder was built with (default: that version).
        dry_run: Check everything that can be checked offline and return the plan without any network call.
        private: Create the repository as private if it does not exist yet.
        token: A Hub token (default: the logged-in user's).
        api: A `huggingface_hub.HfApi`-like object (for tests); made from `token` when None.

    Returns:
        The `PushPlan`, with the commit id when pushed.

    Raises:
        ValueError: When the folder is not a valid build, the version differs from the build's, or the tag exists.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    problems = checksum_problems(root)
    if problems:
        raise UsageError(f"{root} does not match its manifest ({problems[0]}); rebuild it before pushing")
    built_version = manifest["version"]
    if version is not None and version != built_version:
        raise UsageError(f"{root} was built as version {built_version}, not {version}; rebuild with --version {version}")
    if "/" not in repo_id:
        raise UsageError(f"repo_id must look like 'org/name', got {repo_id!r}")
    files = sorted([*manifest["files"], MANIFEST])
    plan = PushPlan(repo_id, f"v{built_version}", files, sum((root / name).stat().st_size for name in files))
    if dry_run:
        return plan
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    tags = {ref.name for ref in api.list_repo_refs(repo_id, repo_type="dataset").tags}
    if plan.tag in tags:
        raise UsageError(f"{repo_id} already has {plan.tag}: a published version is never overwritten; bump the version")
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(root), repo_type="dataset",
                               commit_message=f"ParallelBench {plan.tag}", allow_patterns=files,
                               delete_patterns=REPLACED_PATTERNS)
    api.create_tag(repo_id, tag=plan.tag, revision=commit.oid, repo_type="dataset",
                   tag_message=f"ParallelBench {plan.tag}")
    plan.commit = commit.oid
    return plan
