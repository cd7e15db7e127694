"""ParallelBench: tasks that are easy for people yet break diffusion LLMs that decode many tokens in parallel.

Public API (stable; external eval code depends on it)::

    import parallelbench as pb
    pb.tasks()
    rows = pb.generate("waiting_line/shuffle", n=100, seed=7, length=(3, 6))
    for row in pb.iter_rows("waiting_line/shuffle", n=10**6): ...   # the same rows, one at a time
    pb.score(rows[0], '["Ann Lee", "Bo Chen"]')           # Score(value, correct, reason, details)
    pb.score_many(rows, predictions)
    pb.build("parallelbench", version="1.0.0")
    pb.push("parallelbench", repo_id="org/parallelbench", version="1.0.0", dry_run=True)
    pb.import_release("ParallelBench", out="parallelbench-release")   # the original release's rows, local use only

Each name is imported from its module on first use, so `import parallelbench` costs only what is used: the
`parallelbench` command starts with this package, and `parallelbench generate` needs none of the building,
publishing, reporting or decoding code (a tenth of a second of imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import FolderError, MalformedRowError, ParallelBenchError, UsageError

#: Public name -> the module of this package that defines it.
_EXPORTS: dict[str, str] = {
    "enumerate_answers": "answers",
    "generate": "api", "iter_rows": "api", "score": "api", "score_many": "api", "scorer": "api", "tasks": "api",
    "build": "builder",
    "push": "hub",
    "oracle_accuracy": "reference_decoding.accuracy",
    "TaskSpec": "registry", "get_task": "registry",
    "import_release": "release",
    "GenerationError": "rows",
    "CANARY": "schema", "COLUMNS": "schema", "Score": "schema",
}

__all__ = [
    "CANARY", "COLUMNS", "GenerationError", "Score", "TaskSpec", "__version__", "build", "enumerate_answers",
    "generate", "get_task", "import_release", "iter_rows", "oracle_accuracy", "push", "score", "score_many",
    "scorer", "tasks", "FolderError", "MalformedRowError", "ParallelBenchError", "UsageError",
]


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parallelbench")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _installed_version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # found once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see: the same names, imported eagerly
    from .answers import enumerate_answers
    from .api import generate, iter_rows, score, score_many, scorer, tasks
    from .builder import build
    from .hub import push
    from .reference_decoding.accuracy import oracle_accuracy
    from .registry import TaskSpec, get_task
    from .release import import_release
    from .rows import GenerationError
    from .schema import CANARY, COLUMNS, Score

    __version__: str
