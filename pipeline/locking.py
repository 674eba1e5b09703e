"""One nightly run per home at a time.

An advisory lock (flock) on $NRR_HOME/.run.lock: a second run fails at once with a clear
message instead of corrupting the warehouse, and the kernel releases the lock when the
holding process ends, however it ends (even SIGKILL), so a lock can never go stale.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

_held: dict[Path, tuple[object, int]] = {}
_guard = threading.Lock()


class RunInProgress(RuntimeError):
    """Another process is running the pipeline on the same home."""


class HomeNotWritable(RuntimeError):
    """NRR_HOME cannot be created, or this user cannot write in it: a settings problem."""


def _why_not_writable(home: Path, error: OSError) -> str:
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    return error.strerror or str(error)


def home_not_writable(home: Path, error: OSError) -> HomeNotWritable:
    return HomeNotWritable(
        f"NRR_HOME {home} is not writable: {_why_not_writable(home, error)}. Set NRR_HOME to a "
        "folder this user can write."
    )


def check_home_writable(home: Path) -> None:
    """Create `home` if it is missing and write a file in it, or raise HomeNotWritable."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        raise home_not_writable(home, exc) from exc


def acquire_home_lock(home: Path) -> None:
    """Take the run lock of `home` (re-entrant within this process)."""
    path = (home / ".run.lock").resolve()
    with _guard:
        if path in _held:
            handle, count = _held[path]
            _held[path] = (handle, count + 1)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a+")
        except OSError as exc:
            raise home_not_writable(home, exc) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunInProgress(
                f"Another nrr run is already working on {home} ({holder}). Wait for it to "
                "finish; this run changed nothing."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        _held[path] = (handle, 1)


def release_home_lock(home: Path) -> None:
    path = (home / ".run.lock").resolve()
    with _guard:
        if path not in _held:
            return
        handle, count = _held[path]
        if count > 1:
            _held[path] = (handle, count - 1)
            return
        del _held[path]
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
