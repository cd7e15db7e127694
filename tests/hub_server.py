"""A small stand-in for the Hugging Face Hub on 127.0.0.1, for round trips through the real clients in tests.

The Hub itself cannot run here, so this server implements the few endpoints that `huggingface_hub` and `datasets`
call to publish and read a dataset repository: create a repository, pre-upload (every file
is answered "regular", so its bytes travel inside the commit; the Hub's LFS and Xet storage are not imitated), the
NDJSON commit, refs, tags, repository and revision info, the tree listing and file downloads at any revision.
Repositories live in memory as a chain of immutable commits, each a full snapshot `{path: bytes}`; a new repository
starts with the `.gitattributes` commit the Hub makes. Every request is recorded (method, path, headers, body) so
tests can check what was sent.

Failures can be injected: `fail_next[(method, path-prefix)] = status` answers the next matching request with that
status (used to break tag creation after a commit).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file's content, as the Hub reports it for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    oid: str
    parent: str | None
    message: str
    files: dict[str, bytes]
    date: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"))


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def commit(self, branch: str, message: str, files: dict[str, bytes]) -> Commit:
        parent = self.branches.get(branch)
        oid = hashlib.sha1(json.dumps([parent, message, sorted((p, git_blob_oid(c)) for p, c in files.items())])
                           .encode() + str(len(self.commits)).encode()).hexdigest()
        self.commits[oid] = Commit(oid, parent, message, dict(files))
        self.branches[branch] = oid
        return self.commits[oid]

    def resolve(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        oid = self.branches.get(revision) or self.tags.get(revision) or revision
        if oid not in self.commits:
            matches = [key for key in self.commits if len(revision) >= 7 and key.startswith(revision)]
            oid = matches[0] if len(matches) == 1 else oid
        return self.commits.get(oid)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HubState:
    """Everything the stand-in knows: repositories (`"<type>s/<org>/<name>"` -> `Repo`) and the request log."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[Recorded] = []
        self.fail_next: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers=headers)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.state.token}"

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._body() if self.command in ("POST", "PUT") else b""
        with self.state.lock:
            self.state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
            for (method, prefix), status in list(self.state.fail_next.items()):
                if method == self.command and url.path.startswith(prefix):
                    del self.state.fail_next[(method, prefix)]
                    return self._error(status, f"injected failure {status}")
            return self._route(url.path, parse_qs(url.query), body)

    do_GET = do_HEAD = do_POST = do_PUT = _handle

    # -- routing --------------------------------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if path == "/api/repos/create" and self.command == "POST":
            return self._create_repo(json.loads(body))
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in ("datasets", "models", "spaces"):
            repo = self.state.repos.get(f"{parts[1]}/{parts[2]}/{parts[3]}")
            if repo is None:
                return self._error(404, "Repository not found", "RepoNotFound")
            return self._api(repo, parts[1], parts[4:], query, body)
        if len(parts) >= 6 and parts[0] in ("datasets", "spaces") and parts[3] == "resolve":
            repo = self.state.repos.get(f"{parts[0]}/{parts[1]}/{parts[2]}")
            if repo is None:
                return self._error(404, "Repository not found", "RepoNotFound")
            return self._resolve(repo, parts[4], "/".join(parts[5:]))
        return self._error(404, f"stand-in Hub: no route for {self.command} {path}")

    def _api(self, repo: Repo, kind: str, rest: list[str], query: dict[str, list[str]], body: bytes) -> None:
        action = rest[0] if rest else ""
        if action == "" or (action == "revision" and len(rest) >= 2):
            commit = repo.resolve("/".join(rest[1:]) if rest else "main")
            if commit is None:
                return self._error(404, "Revision not found", "RevisionNotFound")
            return self._json(200, self._info(repo, kind, commit))
        if action == "refs":
            return self._json(200, {
                "branches": [{"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
                             for name, oid in repo.branches.items()],
                "tags": [{"name": name, "ref": f"refs/tags/{name}", "targetCommit": oid}
                         for name, oid in repo.tags.items()],
                "converts": [],
            })
        if action in ("tree", "preupload", "commit", "tag") and len(rest) < 2:
            return self._error(400, f"{action} needs a revision")
        revision = rest[1] if len(rest) >= 2 else "main"
        commit = repo.resolve(revision)
        if commit is None and action != "commit":
            return self._error(404, f"Invalid rev id: {unquote(revision)}", "RevisionNotFound")
        if action == "tree":
            return self._json(200, self._tree(commit, "/".join(rest[2:]), query.get("recursive") == ["true"]))
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        if action == "preupload":
            files = json.loads(body)["files"]
            return self._json(200, {"files": [
                {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": git_blob_oid(commit.files[item["path"]]) if item["path"] in commit.files else None}
                for item in files]})
        if action == "commit":
            return self._commit(repo, kind, unquote(revision), body)
        if action == "tag":
            tag = json.loads(body)["tag"]
            if tag in repo.tags:
                return self._error(409, f"Tag {tag} already exists")
            repo.tags[tag] = commit.oid
            return self._json(200, {})
        return self._error(404, f"stand-in Hub: no API action {action!r}")

    # -- endpoints ------------------------------------------------------------------------------------------------

    def _create_repo(self, payload: dict[str, Any]) -> None:
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        kind = f"{payload.get('type') or 'model'}s"
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        key = f"{kind}/{repo_id}"
        url = f"http://{self.headers['Host']}/{kind}/{repo_id}"
        if key in self.state.repos:
            return self._json(409, {"error": "You already created this repo", "url": url},
                              {"X-Error-Message": "You already created this repo"})
        repo = Repo(repo_id, bool(payload.get("private")))
        repo.commit("main", "initial commit", {".gitattributes": GITATTRIBUTES})
        self.state.repos[key] = repo
        return self._json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _commit(self, repo: Repo, kind: str, branch: str, body: bytes) -> None:
        if branch not in repo.branches:
            return self._error(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        files = dict(repo.commits[repo.branches[branch]].files)
        message = ""
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value["summary"]
                parent = value.get("parentCommit")
                if parent and not repo.branches[branch].startswith(parent):
                    return self._error(412, "A commit has happened since parentCommit")
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if value["path"] not in files:
                    return self._error(404, "A file with this name doesn't exist", "EntryNotFound")
                del files[value["path"]]
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {path: content for path, content in files.items() if not path.startswith(prefix)}
            else:
                return self._error(400, f"stand-in Hub: unsupported commit operation {key!r}")
        commit = repo.commit(branch, message, files)
        base = f"http://{self.headers['Host']}/{kind}/{repo.repo_id}"
        return self._json(200, {"success": True, "commitOid": commit.oid, "commitUrl": f"{base}/commit/{commit.oid}",
                                "pullRequestUrl": None})

    def _info(self, repo: Repo, kind: str, commit: Commit) -> dict[str, Any]:
        return {"id": repo.repo_id, "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
                "author": repo.repo_id.split("/")[0], "sha": commit.oid, "private": repo.private,
                "disabled": False, "gated": False, "lastModified": commit.date, "createdAt": commit.date,
                "tags": [], "downloads": 0, "likes": 0, "cardData": {},
                "siblings": [{"rfilename": path} for path in sorted(commit.files)]}

    def _tree(self, commit: Commit, under: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = f"{under.strip('/')}/" if under.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for path, content in sorted(commit.files.items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):].split("/")
            depth = len(rest) if recursive else 1
            for level in range(1, min(depth, len(rest) - 1) + 1):
                folder = prefix + "/".join(rest[:level])
                entries.setdefault(folder, {"type": "directory", "oid": git_blob_oid(folder.encode()), "size": 0,
                                            "path": folder})
            if recursive or len(rest) == 1:
                entries[path] = {"type": "file", "oid": git_blob_oid(content), "size": len(content), "path": path}
        return list(entries.values())

    def _resolve(self, repo: Repo, revision: str, path: str) -> None:
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, f"Invalid rev id: {unquote(revision)}", "RevisionNotFound")
        if path not in commit.files:
            return self._error(404, "Entry not found", "EntryNotFound")
        content = commit.files[path]
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{git_blob_oid(content)}"'}
        return self._send(200, content, "application/octet-stream", headers)


class HubServer:
    """The stand-in Hub, serving on a free port of 127.0.0.1 from a daemon thread.

    Attributes:
        url: The endpoint, for ``HF_ENDPOINT``.
        state: The repositories and the request log.
    """

    def __init__(self, token: str) -> None:
        self.state = HubState(token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def uploaded_bytes(self) -> bytes:
        """Every request body received, concatenated (to check that a secret never travelled in one)."""
        return b"".join(request.body for request in self.state.requests)
