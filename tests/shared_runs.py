"""A night run once per test session and shared by every pytest-xdist worker.

Several test files start from the same night (the sample or the crafted delivery run in a
fresh home). The first worker that needs it runs it; the others wait for that run and copy
its folder, so the pipeline runs once for them all instead of once per file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def _session_folder(tmp_path_factory) -> Path:
    """A folder all pytest-xdist workers of this session share (this session's own without
    xdist): a worker's base temp folder is inside the session's."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "run-once"
    folder.mkdir(exist_ok=True)
    return folder


def run_once(tmp_path_factory, name: str, write: Callable[[Path], None]) -> tuple[Path, int]:
    """`nrr run` of the delivery write(root / "extracts") wrote, in root / "home", once per
    session whichever worker asks first (the others wait for it); returns root and the exit
    code. Treat it as read-only: copy it (copy_run) to run anything more in it."""
    from pipeline.cli import main

    shared = _session_folder(tmp_path_factory)
    root, code_file = shared / name, shared / f"{name}.exit-code"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not code_file.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left
            write(root / "extracts")
            code = main(["run", "--extracts", str(root / "extracts"), "--home", str(root / "home")])
            code_file.write_text(str(code))
    return root, int(code_file.read_text())


def copy_run(root: Path, destination: Path) -> Path:
    """A copy of run_once's root (extracts and home side by side, as they were run, so the
    home's recorded extracts folder ../extracts is the same): a home that ran that delivery."""
    shutil.copytree(root, destination, symlinks=True, dirs_exist_ok=True)
    return destination
