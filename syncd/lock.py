"""One syncd per state file.

An advisory ``flock`` on ``<state>.lock`` held for the life of the process:
the kernel drops it when the process dies, even by SIGKILL, so a stale lock
never blocks a restart. The file holds the holder's pid, to say who has it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LockError", "hold"]


class LockError(Exception):
    pass


@contextmanager
def hold(state_path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the state file's lock; ``shared`` (a dry run, which writes no state) skips it."""
    if shared:
        yield
        return
    path = Path(f"{state_path}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockError(
                f"another syncd (pid {holder}) is using the state file {state_path}; "
                "stop it first, or give this one its own [syncd].state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
