"""What must hold before a command starts: the state file can be made, the lock is free, ``listen`` binds.

A file-system problem found here is a configuration error (exit 2) whose message names the key
(``[syncd].state``), the path, and what to do, instead of a traceback at the first write: under
systemd's ``Restart=on-failure`` a traceback would only repeat, while exit 2 stops the restarts.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from .config import Config, ConfigError
from .state import StateError, StateStore, open_store

__all__ = ["state_problems", "require_state", "open_state", "lock_holder", "listen_problem"]

KEY = "[syncd].state"


def _user() -> str:
    import getpass  # for a message only: a cron run with a writable state never loads it

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (containers)
        return f"uid {os.getuid()}"


def _is_url(config: Config) -> bool:
    return bool(config.state_dsn)  # PostgreSQL: no file to check (reaching it is the store's own check)


def state_problems(config: Config, *, write: bool = True) -> list[str]:
    """Why the state file cannot be used (empty when it can); ``write=False`` for commands that only read."""
    if _is_url(config):
        return []
    path = config.state_path
    if path.is_dir():
        return [f'{KEY}: {path} is a folder; name a file in it, such as state = "{path / "syncd.db"}"']
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [
            f"{KEY}: {path}: {existing} is a file, not a folder, so the state file cannot be made there; "
            f"point {KEY} at a file in a folder syncd can write (or move {existing} away)"
        ]
    if not write:
        return []
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            return [
                f"{KEY}: {path}: the folder {folder} does not exist and {_user()} cannot create it in {existing}; "
                f"create it for that user (sudo install -d -o {_user()} {folder}; systemd: StateDirectory=) "
                f"or point {KEY} elsewhere"
            ]
        return []
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            f"{KEY}: {path}: the folder {folder} is not writable by {_user()} (SQLite keeps its journal and the "
            f"lock beside the file); give that user write access to it (systemd: StateDirectory=; containers: "
            f"a read-write volume) or point {KEY} elsewhere"
        ]
    for p in (path, Path(f"{path}.lock"), Path(f"{path}-wal")):
        if p.exists() and not os.access(p, os.R_OK | os.W_OK):
            return [f"{KEY}: {p} is not writable by {_user()}; give that user read and write access to it"]
    return []


def require_state(config: Config, *, write: bool = True) -> None:
    problems = state_problems(config, write=write)
    if problems:
        raise ConfigError(problems, config.path)


def _os_problem(config: Config, e: BaseException) -> ConfigError:
    path = config.state_path
    if isinstance(e, OSError):
        why = e.strerror or str(e)
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            todo = f"give {_user()} write access to {path.parent}, or point {KEY} elsewhere"
        else:
            todo = f"check the path, or point {KEY} elsewhere"
        where = e.filename or path
    else:  # sqlite3.Error: not a database, unreadable, locked by a foreign program
        why, todo, where = str(e), f"move the file away (syncd makes a new one) or point {KEY} elsewhere", path
    return ConfigError([f"{KEY}: {where}: {why}; {todo}"], config.path)


def open_state(config: Config, *, readonly: bool = False) -> StateStore:
    """The state store, or a :class:`ConfigError` naming ``[syncd].state`` when it cannot be opened."""
    if not _is_url(config):
        require_state(config, write=not readonly)
    try:
        return open_store(config, readonly=readonly)
    except (OSError, sqlite3.Error) as e:
        raise _os_problem(config, e) from None
    except StateError as e:  # the store's own words (they name [syncd].state)
        raise ConfigError([str(e)], config.path) from None


def wrap_os_error(config: Config, e: BaseException) -> ConfigError:
    """An OSError (or SQLite error) met while taking the lock or opening the state, as a ConfigError."""
    return _os_problem(config, e)


def lock_holder(config: Config) -> str | None:
    """The pid holding the state file's lock, without taking it (None: it is free)."""
    import fcntl

    if _is_url(config):
        return None
    path = Path(f"{config.state_path}.lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def listen_problem(config: Config) -> str | None:
    """Why ``[syncd].listen`` cannot be bound now (None: it can, or it is off)."""
    import socket

    from .observe import parse_listen

    if not config.syncd.listen:
        return None
    try:
        host, port = parse_listen(config.syncd.listen)
    except ValueError as e:
        return str(e)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            hint = (
                "another process listens there (a syncd run already?); stop it or choose another port"
                if e.errno == errno.EADDRINUSE
                else "use an address of this machine, such as 127.0.0.1:9321"
            )
            return f"[syncd].listen: cannot listen on {config.syncd.listen}: {e.strerror or e}; {hint}"
    return None
