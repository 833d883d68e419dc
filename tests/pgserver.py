"""A throwaway PostgreSQL cluster for tests and benchmarks.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free loopback port
with its unix socket in that folder, ``pg_ctl stop`` at the end. As root the
server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
Password authentication is on for TCP: the role ``syncd`` logs in with
:data:`PASSWORD` from ``PGPASSWORD``, as an operator's replica would.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PgServer", "PgUnavailable", "find_bindir", "PASSWORD"]

PASSWORD = "pg-Secret-7f3a9c"
ROLE = "syncd"


class PgUnavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise PgUnavailable(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres; apt-get install postgresql)"
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="syncd-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PgUnavailable("running as root without runuser: cannot start postgres as another user")
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable("running as root and there is no 'postgres' user to run the server") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.started = False

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as, *argv], capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> PgServer:
        pwfile = self.root / "pw"
        pwfile.write_text("admin-pw\n")
        if self._as:
            shutil.chown(pwfile, "postgres")
        try:
            self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )
            opts = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            detail = getattr(e, "stderr", "") or str(e)
            log = self.root / "log"
            if log.exists():
                detail += "\n" + log.read_text()[-2000:]
            self.stop()
            raise PgUnavailable(f"could not start a PostgreSQL server: {detail.strip()}") from None
        self.started = True
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        self.psql(f"CREATE DATABASE {ROLE} OWNER {ROLE}")
        return self

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = self._run(
            str(self.bindir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        )
        return out.stdout.strip()

    def dsn(self, database: str = ROLE, schema: str | None = None) -> str:
        """The DSN a config would carry: no password (that comes from PGPASSWORD)."""
        dsn = f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"
        if schema:
            dsn += f"?options=-csearch_path%3D{schema}"
        return dsn

    def new_schema(self, name: str) -> str:
        """A fresh, empty namespace in the ``syncd`` database; returns the DSN that uses it."""
        self.psql(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name} AUTHORIZATION {ROLE}", db=ROLE)
        return self.dsn(schema=name)

    def halt(self) -> None:
        """Stop the server as a crash or an outage would (the data stays, for :meth:`resume`)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def resume(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
