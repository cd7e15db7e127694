"""Changing a build folder safely: one writer at a time, all-or-nothing, no leftovers.

Every command that writes a build folder (`build`, `calibrate`, `calibrate --model`) does it through `staged`:

1. take the folder's lock (a second writer fails at once with a clear message, instead of racing the first);
2. remove what killed writers left beside the folder (``<name>.tmp-<pid>``, ``<name>.old-<pid>`` whose process is
   gone; one whose process still runs is reported and left alone);
3. hand out a staging folder beside the target (empty, or a copy of the target), where all the writing happens;
4. swap the staging folder in for the target when the work succeeds, or delete it when the work fails.

The lock is an advisory ``flock`` on ``.<name>.lock`` beside the folder: the operating system releases it when its
process ends in any way (SIGKILL included), so a killed build never leaves the folder locked. On systems without
``fcntl`` (Windows) there is no lock; everything else works the same.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import FolderError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


@contextmanager
def folder_lock(target: Path) -> Iterator[None]:
    """Hold the write lock of the folder `target` for the duration of the block.

    Raises:
        FolderError: At once, when another process holds the lock.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = _lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise FolderError(f"{target} is being written by another ParallelBench process (pid {holder}); wait for "
                              f"it to finish or use another folder") from None
        try:  # the file may have been removed by its previous holder between our open and our lock: start again
            same_file = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            break
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)  # still holding the lock, so no other process is between open and lock on it
        os.close(descriptor)


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, under another user
        return True
    return True


def clear_leftovers(target: Path) -> list[Path]:
    """Remove the staging and retired folders that killed writers of `target` left beside it.

    Call only while holding `folder_lock(target)`: then no live writer of `target` is using any of them. A leftover
    whose process id belongs to a running process other than this one is reported with a warning and left alone.

    Returns:
        The folders removed.
    """
    pattern = re.compile(rf"{re.escape(target.name)}\.(?:tmp|old)-(\d+)")
    removed = []
    if not target.parent.is_dir():
        return removed
    for path in sorted(target.parent.iterdir()):
        match = pattern.fullmatch(path.name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_is_running(pid):
            warnings.warn(f"left {path} alone: it belongs to process {pid}, which is still running", stacklevel=3)
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
        if pid != os.getpid():
            warnings.warn(f"removed {path}, left by a killed ParallelBench process ({pid})", stacklevel=3)
    return removed


def swap_in(staging: Path, target: Path) -> None:
    """Put `staging` where `target` is; the old target is kept aside until the new one is in place."""
    retired = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(retired)
    try:
        staging.rename(target)
    except OSError:
        if retired.exists():
            retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def staged(target: str | os.PathLike[str], *, copy: bool = False) -> Iterator[Path]:
    """Lock `target`, clear leftovers, and yield a staging folder that replaces `target` when the block succeeds.

    Args:
        target: The folder to write.
        copy: Start the staging folder as a copy of `target` (to change a build); otherwise it starts empty.

    Yields:
        The staging folder, ``<target>.tmp-<pid>`` beside the target. When the block raises, it is deleted and
        `target` is left as it was.

    Raises:
        FolderError: When another process is writing `target`.
    """
    target = Path(target)
    with folder_lock(target):
        clear_leftovers(target)
        staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        try:
            if copy:
                shutil.copytree(target, staging, ignore=shutil.ignore_patterns(".cache"))
            else:
                staging.mkdir(parents=True)
            yield staging
            swap_in(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
