"""Publishing a built folder to the Hugging Face Hub: one commit per version, tagged ``v<version>``.

A published version is never overwritten: the push refuses when the tag exists already. Readers pin a version with
``load_dataset("<org>/<name>", "<config>", revision="v<version>")``.

A push always ends in a known state. The commit and the tag are two requests; when the tag cannot be made after the
commit, the error says so, and running the same push again finds the untagged commit at the head of ``main`` (its
manifest equals this build's) and tags it instead of committing again. Network and HTTP failures end in one line
that names the endpoint and the status, never a traceback and never the token.

What is pushed is the folder as built, except the dataset card: the Hub gets a card rendered for the repository
(its load line names the repo id and the version tag), the calibration plot when matplotlib is installed, and a copy
of the manifest whose checksums cover those two files, so a downloaded release passes `parallelbench validate`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cards import CARD_PLOT, package_source_url, plot_png, render_card
from .errors import UsageError
from .folder import MANIFEST, checksum_problems, read_manifest

#: What a new version replaces in the Hub repository (files of configs that were dropped disappear too).
REPLACED_PATTERNS = ("data/", "calibration/", "README.md", MANIFEST)


class HubError(OSError):
    """A push that the Hub (or the network to it) refused; the message is one line and never holds the token."""


@dataclass
class PushPlan:
    """What a push sends (or, in a dry run, would send).

    Attributes:
        repo_id: The Hub dataset repository.
        tag: The version tag, ``v<version>``.
        files: The relative paths in the pushed commit (besides the Hub's own ``.gitattributes``).
        total_bytes: Their total size.
        commit: The commit id, once pushed.
        resumed: True when an earlier push had made the commit and this one only tagged it.
        notes: Things the user should know (e.g. the card has no plot because matplotlib is missing).
    """

    repo_id: str
    tag: str
    files: list[str] = field(default_factory=list)
    total_bytes: int = 0
    commit: str | None = None
    resumed: bool = False
    notes: list[str] = field(default_factory=list)


def hub_files(folder: str | os.PathLike[str], repo_id: str,
              code_url: str | None = None) -> tuple[dict[str, bytes | Path], list[str]]:
    """Return what a push uploads: path in the repository -> local file or bytes, and notes for the user.

    The card, the plot and the manifest are rendered for `repo_id` (the card's install line points at `code_url`,
    default: the package metadata's repository URL); the data and calibration files are the build's.

    Raises:
        UsageError: When the folder is not a valid build.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    tag = f"v{manifest['version']}"
    examples = _example_rows(root, manifest)
    files: dict[str, bytes | Path] = {name: root / name for name in manifest["files"]}
    notes = []
    if not (code_url or package_source_url()):
        notes.append("the card links no code of this package: give --code-url (or set [project.urls] Repository)")
    png = plot_png(manifest)
    if png is None:
        notes.append("the card has no calibration plot: install matplotlib (pip install 'parallelbench[plots]')")
    else:
        files[CARD_PLOT] = png
    card = render_card(manifest, repo_id=repo_id, revision=tag, examples=examples,
                       plot=CARD_PLOT if png is not None else None, source_url=code_url)
    check_card_metadata(card, manifest)
    files["README.md"] = card.encode("utf-8")
    published = dict(manifest)
    published["files"] = {name: _sha256(content) for name, content in sorted(files.items())}
    files[MANIFEST] = (json.dumps(published, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return files, notes


def check_card_metadata(card: str, manifest: dict[str, Any]) -> None:
    """Check the card's YAML front matter offline: it parses, lists every config once and names one default.

    The Hub checks a card's YAML when it is committed; this does it before any upload (and in a dry run), so the push
    does not ask the Hub to (see `_HubApi`).

    Raises:
        UsageError: When the front matter is not what the Hub needs.
    """
    import yaml

    head, separator, _ = card.removeprefix("---\n").partition("\n---\n")
    try:
        metadata = yaml.safe_load(head) if card.startswith("---\n") and separator else None
    except yaml.YAMLError as error:
        raise UsageError(f"the dataset card's YAML front matter does not parse ({_first_line(error)})") from None
    configs = metadata.get("configs") if isinstance(metadata, dict) else None
    if not isinstance(configs, list):
        raise UsageError("the dataset card has no YAML front matter with a configs list")
    names = [config.get("config_name") for config in configs]
    if sorted(names) != sorted(manifest["configs"]) or sum(bool(config.get("default")) for config in configs) != 1:
        raise UsageError("the dataset card's configs do not match the build's, or it names no single default config")


def push(folder: str | os.PathLike[str], repo_id: str, version: str | None = None, *, dry_run: bool = False,
         private: bool | None = None, token: str | None = None, code_url: str | None = None,
         i_have_the_rights: bool = False) -> PushPlan:
    """Push a built folder to the Hub as one commit tagged ``v<version>`` (the Hub is ``HF_ENDPOINT``'s).

    Args:
        folder: A folder made by `parallelbench.build` (or a downloaded release of one).
        repo_id: The dataset repository, ``"<org>/<name>"``.
        version: The version to publish; must equal the version the folder was built with (default: that version).
        dry_run: Check everything that can be checked offline and return the plan without any network call.
        private: Create the repository as private if it does not exist yet.
        token: A Hub token (default: the logged-in user's or ``HF_TOKEN``).
        code_url: Where the card's install line and code link point (default: the package metadata's repository).
        i_have_the_rights: Confirm that you may redistribute the rows; needed for a ``release`` edition (the
            original release's rows, imported with `parallelbench.import_release`: they carry no license).

    Returns:
        The `PushPlan`, with the commit id when pushed.

    Raises:
        UsageError: When the folder is not a valid build, the version differs from the build's, or the folder is
            a release edition and `i_have_the_rights` is not set.
        HubError: When the tag exists already, or the Hub or the network fails; the message is one line that says
            what state the repository is in.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest.get("edition") == "release" and not i_have_the_rights:
        raise UsageError(f"{root} holds the original release's rows (edition 'release'), which carry no license and "
                         "are not ours to redistribute; push it only if you hold the rights (--i-have-the-rights)")
    problems = checksum_problems(root)
    if problems:
        raise UsageError(f"{root} does not match its manifest ({problems[0]}); rebuild it before pushing")
    built_version = manifest["version"]
    if version is not None and version.lstrip("v") == built_version and version != built_version:
        raise UsageError(f"--version takes the bare version {built_version}; the push adds the 'v' of the tag")
    if version is not None and version != built_version:
        raise UsageError(f"{root} was built as version {built_version}, not {version}; "
                         f"rebuild with --version {version}")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UsageError(f"--repo-id must look like 'org/name', got {repo_id!r}")
    files, notes = hub_files(root, repo_id, code_url)
    plan = PushPlan(repo_id, f"v{built_version}", sorted(files), sum(_size(content) for content in files.values()),
                    notes=notes)
    if dry_run:
        return plan
    from huggingface_hub import get_token

    api = _hub_api(token)
    secret = token or get_token()
    again = shlex.join(["parallelbench", "push", str(root), "--repo-id", repo_id,
                        *(["--code-url", code_url] if code_url else []),
                        *(["--i-have-the-rights"] if i_have_the_rights else [])])
    try:
        _push(api, plan, files, private, again)
    except HubError as error:
        raise HubError(_without(secret, str(error))) from None
    except Exception as error:  # noqa: BLE001 - every client failure becomes one line that says where it happened
        message = describe_hub_error(error, api.endpoint) or (
            f"push to {api.endpoint} failed ({type(error).__name__}: {_first_line(error)}); "
            "nothing was tagged: run the same command again")
        raise HubError(_without(secret, message)) from None
    return plan


def _push(api: Any, plan: PushPlan, files: dict[str, bytes | Path], private: bool | None, again: str) -> None:
    """The network part of `push`: create the repository, commit (unless an earlier run did), tag.

    `again` is the command that repeats this push, named when the tag fails after the commit.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    repo_id = plan.repo_id
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    if plan.tag in {ref.name for ref in refs.tags}:
        raise HubError(f"{repo_id} already has {plan.tag}: a published version is never overwritten; "
                       "bump the version")
    head = next((ref.target_commit for ref in refs.branches if ref.name == "main"), None)
    if head is not None and _manifest_at(api, repo_id, head) == files[MANIFEST]:
        plan.commit, plan.resumed = head, True
    else:
        remote = api.list_repo_files(repo_id, repo_type="dataset", revision=head) if head else []
        stale = [path for path in remote if path not in files and path.startswith(REPLACED_PATTERNS)]
        operations = [*(CommitOperationDelete(path_in_repo=path) for path in stale),
                      *(CommitOperationAdd(path_in_repo=path, path_or_fileobj=_as_upload(content))
                        for path, content in sorted(files.items()))]
        commit = api.create_commit(repo_id, operations, commit_message=f"ParallelBench {plan.tag}",
                                   repo_type="dataset", parent_commit=head)
        plan.commit = commit.oid
    try:
        api.create_tag(repo_id, tag=plan.tag, revision=plan.commit, repo_type="dataset",
                       tag_message=f"ParallelBench {plan.tag}")
    except Exception as error:  # noqa: BLE001 - re-raised with the state of the repository
        reason = describe_hub_error(error, api.endpoint) or f"{type(error).__name__}: {_first_line(error)}"
        raise HubError(f"{repo_id}: commit {plan.commit} is on main but could not be tagged {plan.tag} ({reason}); "
                       f"run the same command again to tag it: {again}") from None


def _hub_api(token: str | None) -> Any:
    """A `huggingface_hub.HfApi` whose commits skip the Hub's card check, done offline by `check_card_metadata`.

    `create_commit` asks ``/api/validate-yaml`` about every README.md it commits; our card is rendered from the
    manifest and checked before the push, so that round trip adds nothing and would tie the push to one more endpoint
    than the commit itself needs.
    """
    from huggingface_hub import HfApi

    class _HubApi(HfApi):
        def _validate_yaml(self, content: str, *, repo_type: str | None = None, token: Any = None) -> None:
            """Checked offline before the push (`check_card_metadata`)."""

    return _HubApi(token=token)


def _manifest_at(api: Any, repo_id: str, revision: str) -> bytes | None:
    """The manifest.json bytes at a revision of the repository, or None when it has none."""
    from huggingface_hub.errors import EntryNotFoundError

    with tempfile.TemporaryDirectory() as cache:
        try:
            path = api.hf_hub_download(repo_id, MANIFEST, repo_type="dataset", revision=revision, cache_dir=cache)
        except EntryNotFoundError:
            return None
        return Path(path).read_bytes()


def describe_hub_error(error: BaseException, endpoint: str) -> str | None:
    """One line for a Hub client failure: the endpoint, the request and the HTTP status; None if not one.

    Args:
        error: What `huggingface_hub` raised.
        endpoint: The Hub endpoint in use, named when the network could not reach it.
    """
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    # The HTTP library depends on the huggingface_hub release (httpx2 in 2.x, httpx in 1.x); whichever it uses is
    # imported already.
    transport_errors = tuple(module.TransportError for module in map(sys.modules.get, ("httpx2", "httpx")) if module)

    if isinstance(error, OfflineModeIsEnabled):
        return f"cannot reach the Hub at {endpoint}: HF_HUB_OFFLINE is set; unset it to push"
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        response = error.response
        request = response.request
        detail = (error.server_message or "").strip().splitlines()
        return (f"the Hub at {endpoint} answered {request.method} {request.url.path} with HTTP "
                f"{response.status_code} {response.reason_phrase}" + (f": {detail[0]}" if detail else ""))
    if isinstance(error, (ConnectionError, TimeoutError, *transport_errors)):
        return f"cannot reach the Hub at {endpoint} ({type(error).__name__}: {_first_line(error) or 'no answer'})"
    return None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def _without(secret: str | None, text: str) -> str:
    return text.replace(secret, "***") if secret else text


def _example_rows(root: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One test row per family, for the card: from the family's config with the most correct answers per row."""
    import pyarrow.parquet as pq

    def most_answers(config_name: str) -> int:
        counts = manifest["configs"][config_name].get("n_answers") or "0"
        return int(counts.rpartition("-")[2])

    by_family: dict[str, list[str]] = {}
    for config_name, entry in manifest["configs"].items():
        if entry["splits"].get("test"):
            by_family.setdefault(entry["task"].split("/")[0], []).append(config_name)
    examples = {}
    for family, config_names in by_family.items():
        config_name = max(config_names, key=most_answers)  # the first of equals: max keeps the earliest
        shard = sorted((root / "data" / config_name).glob("test-*.parquet"))[0]
        examples[family] = pq.read_table(shard).slice(0, 1).to_pylist()[0]
    return examples


def _sha256(content: bytes | Path) -> str:
    return hashlib.sha256(content if isinstance(content, bytes) else content.read_bytes()).hexdigest()


def _size(content: bytes | Path) -> int:
    return len(content) if isinstance(content, bytes) else content.stat().st_size


def _as_upload(content: bytes | Path) -> bytes | str:
    return content if isinstance(content, bytes) else str(content)
