"""Publishing to the Hub: round trips through the real `huggingface_hub` and `datasets` clients.

The Hub is `tests/hub_server.py`, a stand-in on 127.0.0.1 (nothing leaves the machine). `parallelbench push` and the
readers run as subprocesses with ``HF_ENDPOINT`` pointing at it, a fresh ``HF_HOME`` each and ``HF_HUB_OFFLINE`` unset
only there, exactly as a user would run them; the test process itself stays offline.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import parallelbench as pb
from parallelbench.cards.render import readable_answer_counts, size_category
from parallelbench.cli import main
from parallelbench.folder import checksum_problems, read_manifest
from parallelbench.hub import check_card_metadata, hub_files

from hub_server import HubServer

TOKEN = "hf_standInSecret0123456789abcdef"
TASKS = ["waiting_line/shuffle", "list_ops/sort", "puzzle/latin_square_n3", "words_to_sentence/easy"]
REPO = "org/parallelbench"

_READ_BACK = """
import json, sys
from datasets import load_dataset
from huggingface_hub import snapshot_download
repo, revision, out = sys.argv[1], sys.argv[2], sys.argv[3]
configs = sys.argv[4:]
rows = {config: load_dataset(repo, config, split="test", revision=revision).to_list() for config in configs}
folder = snapshot_download(repo, repo_type="dataset", revision=revision)
with open(out, "w") as handle:
    json.dump({"rows": rows, "folder": folder}, handle)
"""


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """v1.0.0 with four configs, v1.0.1 without `list_ops-sort`."""
    root = tmp_path_factory.mktemp("builds")
    first = pb.build(root / "v1", version="1.0.0", tasks=TASKS)
    second = pb.build(root / "v2", version="1.0.1", tasks=[task for task in TASKS if task != "list_ops/sort"])
    return first, second


@pytest.fixture
def hub():
    with HubServer(TOKEN) as server:
        yield server


class Shell:
    """Runs commands against the stand-in Hub as a user would, and keeps everything they printed."""

    def __init__(self, hub: HubServer, home: Path) -> None:
        self.env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HOME": str(home)}
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            self.env.pop(name, None)
        self.cwd = home.parent
        self.printed: list[str] = []

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, *argv], env=self.env, cwd=self.cwd, capture_output=True, text=True,
                              timeout=300)
        self.printed += [done.stdout, done.stderr]
        return done

    def parallelbench(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-c", "import sys; from parallelbench.cli import main; sys.exit(main())", *args)

    def read_back(self, revision: str, configs: list[str]) -> dict:
        out = self.cwd / f"read-{revision}.json"
        done = self.run("-c", _READ_BACK, REPO, revision, str(out), *configs)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(out.read_text())


@pytest.fixture
def shell(hub, tmp_path):
    return Shell(hub, tmp_path / "hf_home")


def local_rows(folder: Path, config: str) -> list[dict]:
    return pq.read_table(folder / "data" / config / "test-00000-of-00001.parquet").to_pylist()


def test_round_trip_push_load_validate_push_the_download_and_a_second_version(builds, hub, shell):
    first, second = builds
    configs = list(read_manifest(first)["configs"])

    pushed = shell.parallelbench("push", str(first), "--repo-id", REPO)
    assert pushed.returncode == 0, pushed.stderr
    assert "tagged v1.0.0" in pushed.stdout
    repo = hub.state.repos[f"datasets/{REPO}"]
    assert [commit.message for commit in repo.commits.values()] == ["initial commit", "ParallelBench v1.0.0"]

    again = shell.parallelbench("push", str(first), "--repo-id", REPO)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and len(repo.commits) == 2

    release = shell.read_back("v1.0.0", configs)
    for config in configs:
        assert release["rows"][config] == local_rows(first, config), config
    downloaded = Path(release["folder"])
    assert (downloaded / ".gitattributes").is_file()  # the Hub's own file, which validate must ignore
    card = (downloaded / "README.md").read_text()
    assert f'load_dataset("{REPO}", "waiting_line-shuffle", split="test", revision="v1.0.0")' in card
    validated = shell.parallelbench("validate", str(downloaded))
    assert validated.returncode == 0, validated.stdout + validated.stderr

    copy = shell.parallelbench("push", str(downloaded), "--repo-id", "mirror/parallelbench")  # .gitattributes and all
    assert copy.returncode == 0, copy.stderr
    mirrored = hub.state.repos["datasets/mirror/parallelbench"].resolve("v1.0.0").files
    card_files = {"README.md", "manifest.json"}  # the card names its repository; the manifest holds its sha256
    assert {path: content for path, content in mirrored.items() if path not in card_files} == \
        {path: content for path, content in repo.resolve("v1.0.0").files.items() if path not in card_files}
    assert b'load_dataset("mirror/parallelbench"' in mirrored["README.md"]

    pushed = shell.parallelbench("push", str(second), "--repo-id", REPO)
    assert pushed.returncode == 0, pushed.stderr
    newest = repo.resolve("v1.0.1").files
    assert not any(path.startswith(("data/list_ops-sort/", "calibration/list_ops-sort")) for path in newest)
    assert "data/waiting_line-shuffle/test-00000-of-00001.parquet" in newest and ".gitattributes" in newest

    still = shell.read_back("v1.0.0", configs)
    assert still["rows"] == release["rows"]
    assert shell.read_back("v1.0.1", ["waiting_line-shuffle"])["rows"]["waiting_line-shuffle"] == \
        local_rows(second, "waiting_line-shuffle")

    assert TOKEN.encode() not in hub.uploaded_bytes()
    assert all(request.headers.get("Authorization") in (None, f"Bearer {TOKEN}") for request in hub.state.requests)
    assert not any(TOKEN in text for text in shell.printed)


def test_a_commit_whose_tag_failed_is_tagged_by_the_next_push(builds, hub, shell):
    first, _ = builds
    hub.state.fail_next[("POST", f"/api/datasets/{REPO}/tag/")] = 403
    failed = shell.parallelbench("push", str(first), "--repo-id", REPO)
    assert failed.returncode == 2
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert "could not be tagged v1.0.0" in failed.stderr and "HTTP 403" in failed.stderr
    assert f"parallelbench push {first} --repo-id {REPO}" in failed.stderr
    repo = hub.state.repos[f"datasets/{REPO}"]
    assert repo.tags == {} and len(repo.commits) == 2

    resumed = shell.parallelbench("push", str(first), "--repo-id", REPO)
    assert resumed.returncode == 0, resumed.stderr
    assert "already holds" in resumed.stdout
    assert len(repo.commits) == 2 and repo.tags == {"v1.0.0": repo.branches["main"]}


def test_a_different_build_on_an_untagged_head_is_committed_not_tagged(builds, hub, shell):
    first, second = builds
    hub.state.fail_next[("POST", f"/api/datasets/{REPO}/tag/")] = 403
    assert shell.parallelbench("push", str(first), "--repo-id", REPO).returncode == 2
    pushed = shell.parallelbench("push", str(second), "--repo-id", REPO)
    assert pushed.returncode == 0 and "already holds" not in pushed.stdout
    repo = hub.state.repos[f"datasets/{REPO}"]
    assert len(repo.commits) == 3 and list(repo.tags) == ["v1.0.1"]


def test_http_errors_end_in_one_line_naming_the_endpoint_and_status(builds, hub, shell):
    hub.state.fail_next[("POST", f"/api/datasets/{REPO}/commit/")] = 403
    failed = shell.parallelbench("push", str(builds[0]), "--repo-id", REPO)
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and hub.url in lines[0] and "HTTP 403" in lines[0] and "/commit/" in lines[0], lines
    assert TOKEN not in failed.stderr + failed.stdout


def test_a_wrong_token_is_refused_in_one_line_without_echoing_it(builds, hub, shell):
    shell.env["HF_TOKEN"] = "hf_wrongSecret"
    failed = shell.parallelbench("push", str(builds[0]), "--repo-id", REPO)
    assert failed.returncode == 2 and "HTTP 401" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1 and "hf_wrongSecret" not in failed.stderr


def test_an_unreachable_endpoint_exits_2_with_one_line(builds, shell):
    shell.env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
    failed = shell.parallelbench("push", str(builds[0]), "--repo-id", REPO)
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Hub at http://127.0.0.1:9" in lines[0], failed.stderr
    assert TOKEN not in failed.stderr + failed.stdout


def test_validate_ignores_the_hubs_gitattributes_but_no_other_stray_file(builds, tmp_path):
    copy = Path(shutil.copytree(builds[0], tmp_path / "copy"))
    (copy / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    assert checksum_problems(copy) == []
    (copy / "data" / "notes.txt").write_text("stray")
    assert checksum_problems(copy) == ["file not in manifest: data/notes.txt"]


def test_push_refuses_a_version_other_than_the_built_one(builds):
    with pytest.raises(ValueError, match="built as version 1.0.0, not 2.0.0"):
        pb.push(builds[0], REPO, "2.0.0", dry_run=True)
    with pytest.raises(ValueError, match="bare version 1.0.0"):
        pb.push(builds[0], REPO, "v1.0.0", dry_run=True)
    with pytest.raises(ValueError, match="org/name"):
        pb.push(builds[0], "parallelbench", dry_run=True)


def test_push_refuses_a_tampered_folder(builds, tmp_path):
    copy = Path(shutil.copytree(builds[0], tmp_path / "copy"))
    (copy / "README.md").write_text("edited by hand")
    with pytest.raises(ValueError, match="does not match its manifest"):
        pb.push(copy, REPO, dry_run=True)


def test_dry_run_needs_no_network(builds, capsys):
    plan = pb.push(builds[0], REPO, dry_run=True)  # the test process is offline: any request would fail
    assert plan.commit is None and plan.total_bytes > 0 and "manifest.json" in plan.files
    assert main(["push", str(builds[0]), "--repo-id", REPO, "--dry-run"]) == 0
    assert "tagged v1.0.0" in capsys.readouterr().out


def test_the_hub_card_names_the_repo_and_version_and_reads_well(builds):
    files, _ = hub_files(builds[0], REPO)
    card = files["README.md"].decode()
    assert f'load_dataset("{REPO}", "waiting_line-shuffle", split="test", revision="v1.0.0")' in card
    assert "from the folder's parent" not in card and not re.search(r"\$\{?[a-z_]+", card)  # no placeholder left
    citation = card[card.index("@article"):]
    assert "Kang, Wonjun and Galim, Kevin" in citation and "Lee, Kangwook}" in citation and "others" not in citation
    front_matter = card.split("---\n")[1]
    assert front_matter.count("default: true") == 1 and "size_categories:\n- n<1K" in front_matter
    assert "| `waiting_line-shuffle` | 100 | 5 .. 719 |" in card
    for family in ("waiting_line", "list_ops", "puzzle", "words_to_sentence"):
        assert f"### `{family}/" in card, family
    assert "pip install" in card and "Faker" in card and "## Limitations" in card
    published = json.loads(files["manifest.json"])
    assert set(published["files"]) == set(files) - {"manifest.json"}


def test_the_hub_card_embeds_the_calibration_plot(builds):
    pytest.importorskip("matplotlib")
    files, notes = hub_files(builds[0], REPO, code_url="https://example.org/parallelbench.git")
    assert notes == []
    assert files["calibration/oracle_accuracy.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert "](calibration/oracle_accuracy.png)" in files["README.md"].decode()
    assert hub_files(builds[0], REPO)[0]["calibration/oracle_accuracy.png"] == files["calibration/oracle_accuracy.png"]


def test_the_hub_card_installs_from_the_code_url(builds):
    files, notes = hub_files(builds[0], REPO, code_url="https://example.org/parallelbench.git")
    card = files["README.md"].decode()
    assert 'pip install "parallelbench @ git+https://example.org/parallelbench.git"' in card
    assert "](https://example.org/parallelbench.git)" in card and not any("--code-url" in note for note in notes)


def test_the_card_metadata_check_rejects_what_the_hub_would(builds):
    manifest = read_manifest(builds[0])
    card = hub_files(builds[0], REPO)[0]["README.md"].decode()
    check_card_metadata(card, manifest)
    with pytest.raises(ValueError, match="no YAML front matter"):
        check_card_metadata(card.split("---\n", 2)[2], manifest)
    with pytest.raises(ValueError, match="does not parse"):
        check_card_metadata(card.replace("- config_name: list_ops-sort\n", ""), manifest)
    with pytest.raises(ValueError, match="do not match"):
        check_card_metadata(card.replace("config_name: list_ops-sort", "config_name: list_ops-sorted"), manifest)
    with pytest.raises(ValueError, match="do not match"):
        check_card_metadata(card.replace("  default: true\n", ""), manifest)


def test_answer_counts_and_sizes_read_at_a_glance():
    assert readable_answer_counts("5-20922789887999") == "5 .. 2.1e13"
    assert readable_answer_counts("161280") == "161280"
    assert readable_answer_counts("812851200") == "8.1e8"
    assert readable_answer_counts("") == "uncounted"
    assert [size_category(rows) for rows in (340, 7200, 10_000, 250_000)] == ["n<1K", "1K<n<10K", "10K<n<100K",
                                                                              "100K<n<1M"]


def test_card_command_prints_the_local_and_the_hub_card(builds, capsys):
    assert main(["card", str(builds[0])]) == 0
    assert "config_name: waiting_line-shuffle" in capsys.readouterr().out
    assert main(["card", str(builds[0]), "--repo-id", REPO]) == 0
    assert f'load_dataset("{REPO}"' in capsys.readouterr().out


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"parallelbench {pb.__version__}"


def test_long_cli_commands_show_labelled_progress(builds, tmp_path, capsys):
    assert main(["validate", str(builds[0])]) == 0
    assert "checking gold answers" in capsys.readouterr().err
    assert main(["generate", "waiting_line/copy", "--n", "5", "--out", str(tmp_path / "copy.jsonl")]) == 0
    assert "generating rows" in capsys.readouterr().err
    copy = Path(shutil.copytree(builds[0], tmp_path / "copy"))
    assert main(["calibrate", str(copy)]) == 0
    assert "calibrating (oracle)" in capsys.readouterr().err
