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
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .answers import enumerate_answers
from .api import generate, iter_rows, score, score_many, scorer, tasks
from .build import build
from .errors import FolderError, MalformedRowError, ParallelBenchError, UsageError
from .hub import push
from .reference_decoding.accuracy import oracle_accuracy
from .registry import TaskSpec, get_task
from .release import import_release
from .rows import GenerationError
from .schema import CANARY, COLUMNS, Score

try:
    __version__ = version("parallelbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "CANARY", "COLUMNS", "GenerationError", "Score", "TaskSpec", "__version__", "build", "enumerate_answers",
    "generate", "get_task", "import_release", "iter_rows", "oracle_accuracy", "push", "score", "score_many", "scorer", "tasks",
    "FolderError", "MalformedRowError", "ParallelBenchError", "UsageError",
]
