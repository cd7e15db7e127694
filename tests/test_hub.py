"""Publishing to the Hub, against a fake Hub API (tests never touch the network)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import parallelbench as pb
from parallelbench.cli import main


class FakeHub:
    """Records calls like `huggingface_hub.HfApi` would receive them; keeps tags like a repository."""

    def __init__(self, tags=()):
        self.tags = list(tags)
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def list_repo_refs(self, repo_id, **kwargs):
        return SimpleNamespace(tags=[SimpleNamespace(name=tag) for tag in self.tags])

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return SimpleNamespace(oid="abc123")

    def create_tag(self, repo_id, *, tag, revision, **kwargs):
        if tag in self.tags:
            raise RuntimeError("tag exists")
        self.tags.append(tag)
        self.calls.append(("create_tag", tag, revision))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return pb.build(tmp_path_factory.mktemp("hub") / "parallelbench", version="1.2.0", tasks=["waiting_line/copy"])


def test_push_is_one_commit_then_its_version_tag(folder):
    hub = FakeHub()
    plan = pb.push(folder, "org/parallelbench", "1.2.0", api=hub)
    assert plan.commit == "abc123" and plan.tag == "v1.2.0"
    assert [call[0] for call in hub.calls] == ["create_repo", "upload_folder", "create_tag"]
    upload = hub.calls[1][1]
    assert upload["repo_type"] == "dataset" and set(upload["allow_patterns"]) == set(plan.files)
    assert "manifest.json" in plan.files and "README.md" in plan.files
    assert hub.calls[2] == ("create_tag", "v1.2.0", "abc123")


def test_push_never_overwrites_a_published_version(folder):
    hub = FakeHub(tags=["v1.2.0"])
    with pytest.raises(ValueError, match="never overwritten"):
        pb.push(folder, "org/parallelbench", api=hub)
    assert not any(call[0] == "upload_folder" for call in hub.calls)


def test_push_refuses_a_version_other_than_the_built_one(folder):
    with pytest.raises(ValueError, match="built as version 1.2.0, not 2.0.0"):
        pb.push(folder, "org/parallelbench", "2.0.0", api=FakeHub())


def test_push_refuses_a_tampered_folder(tmp_path):
    built = pb.build(tmp_path / "parallelbench", tasks=["waiting_line/copy"])
    (built / "README.md").write_text("edited by hand")
    with pytest.raises(ValueError, match="does not match its manifest"):
        pb.push(built, "org/parallelbench", api=FakeHub())


def test_dry_run_needs_no_network(folder, capsys):
    plan = pb.push(folder, "org/parallelbench", dry_run=True, api=object())
    assert plan.commit is None and plan.total_bytes > 0
    assert main(["push", str(folder), "--repo-id", "org/parallelbench", "--dry-run"]) == 0
    assert "tagged v1.2.0" in capsys.readouterr().out


def test_card_command_prints_the_card(folder, capsys):
    assert main(["card", str(folder)]) == 0
    assert "config_name: waiting_line-copy" in capsys.readouterr().out
