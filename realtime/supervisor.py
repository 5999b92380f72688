"""N web processes serving one port, with the standard library only.

`python -m realtime.server --processes N -b HOST -p PORT <daphne arguments>`
creates the listening socket once, here, and starts N daphne processes that
each accept on it (the socket is inherited: `pass_fds`, daphne's
`fd:` endpoint). The kernel hands each new connection to one of them. This
needs nothing but Python on any POSIX system: no `SO_REUSEPORT`, no front
process in the data path. Because this process keeps the socket open, a
connection made while no child accepts (all restarting) waits in the
socket's backlog instead of being refused.

What it does after the start:

- a child that exits on its own (a crash, SIGKILL) is replaced; five that
  each die within 10 s of their start end the run (exit 1), so a broken
  configuration does not loop forever;
- SIGTERM or SIGINT: every child is sent SIGTERM and drains (closes its
  WebSockets with 1012, finishes requests in flight, exits:
  realtime/daphne_server.py); after `--drain-seconds` + 10 s what is left is
  killed;
- SIGHUP: a rolling restart, one child at a time: start its replacement,
  wait until it serves, then drain the old one; the port keeps serving
  throughout;
- `PROMETHEUS_MULTIPROC_DIR`: set for the children (a fresh temporary
  directory unless the environment names one, whose old `*.db` files are
  removed), so `/metrics` on any child merges every child's request
  latencies (docs/operations.md).

Each child is told this process's pid and drains if it goes (a SIGKILLed
supervisor leaves no orphan serving).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

READY_TIMEOUT_SECONDS = 90.0
CRASH_WINDOW_SECONDS = 10.0
CRASH_LIMIT = 5
BACKLOG = 2048
TICK_SECONDS = 0.2


def say(message: str) -> None:
    print(f"realtime.server: {message}", file=sys.stderr, flush=True)


def listen_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A listening TCP socket on host:port that children can inherit (IPv4:
    daphne adopts no other family, realtime/daphne_server.py)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, family=socket.AF_INET, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def child_argv(
    *, fd: int, ready_fd: int, parent_pid: int, drain_seconds: float, daphne_argv: list[str]
) -> list[str]:
    """The command line of one web process serving the inherited socket `fd`."""
    return [
        sys.executable,
        "-m",
        "realtime.server",
        *("--inherited-fd", str(fd), "--ready-fd", str(ready_fd)),
        *("--parent-pid", str(parent_pid), "--drain-seconds", str(drain_seconds)),
        *daphne_argv,
    ]


@dataclass
class WebChild:
    popen: subprocess.Popen[bytes]
    ready_read: int
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    retiring: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid


def prometheus_dir(env: dict[str, str]) -> str | None:
    """Point the children at a multiprocess directory; returns it when it is
    ours to remove at the end."""
    given = env.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    made = tempfile.mkdtemp(prefix="tradevision-metrics-")
    env["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


class Supervisor:
    def __init__(
        self,
        *,
        sock: socket.socket,
        count: int,
        daphne_argv: list[str],
        drain_seconds: float,
        env: dict[str, str] | None = None,
    ) -> None:
        self.sock = sock
        self.count = count
        self.daphne_argv = daphne_argv
        self.drain_seconds = drain_seconds
        self.env = dict(os.environ if env is None else env)
        self.children: list[WebChild] = []
        self.stop_signal: int | None = None
        self.restart_requested = False
        self.crashes = 0

    # --- signals ------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.restart_requested = True

    # --- children -----------------------------------------------------------

    def spawn(self) -> WebChild:
        ready_read, ready_write = os.pipe()
        fd = self.sock.fileno()
        try:
            popen = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
                child_argv(
                    fd=fd,
                    ready_fd=ready_write,
                    parent_pid=os.getpid(),
                    drain_seconds=self.drain_seconds,
                    daphne_argv=self.daphne_argv,
                ),
                pass_fds=(fd, ready_write),
                env=self.env,
            )
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        child = WebChild(popen, ready_read)
        self.children.append(child)
        return child

    def wait_ready(self, children: list[WebChild], timeout: float = READY_TIMEOUT_SECONDS) -> bool:
        """Wait until each child said it serves; False if one exited first,
        the time ran out or a stop signal came."""
        deadline = time.monotonic() + timeout
        waiting = {child.ready_read: child for child in children if not child.ready}
        while waiting:
            if self.stop_signal is not None or time.monotonic() >= deadline:
                return False
            readable, _, _ = select.select(list(waiting), [], [], TICK_SECONDS)
            for fd in readable:
                child = waiting.pop(fd)
                data = os.read(fd, 64)
                os.close(fd)
                if not data:  # it exited (or closed the pipe) without being ready
                    return False
                child.ready = True
        return True

    def _close_pipe(self, child: WebChild) -> None:
        if not child.ready:
            child.ready = True  # the pipe is closed from here on
            try:
                os.close(child.ready_read)
            except OSError:
                pass

    def drain(self, child: WebChild) -> None:
        child.retiring = True
        if child.popen.poll() is None:
            child.popen.send_signal(signal.SIGTERM)

    def wait_exit(self, children: list[WebChild]) -> None:
        """Wait for drained children; kill what outlives the drain time."""
        deadline = time.monotonic() + self.drain_seconds + 10
        for child in children:
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"web process {child.pid} still running after the drain: killing it")
                child.popen.kill()
                child.popen.wait()
            self._close_pipe(child)
        self.children = [c for c in self.children if c not in children]

    def replace_exited(self) -> bool:
        """Start a replacement for each child that exited on its own; False
        when they keep dying right after their start."""
        for child in [c for c in self.children if not c.retiring and c.popen.poll() is not None]:
            code = child.popen.returncode
            how = f"signal {-code}" if code < 0 else f"code {code}"
            self._close_pipe(child)
            self.children.remove(child)
            lived = time.monotonic() - child.started
            self.crashes = self.crashes + 1 if lived < CRASH_WINDOW_SECONDS else 1
            if self.crashes >= CRASH_LIMIT:
                say(f"web process {child.pid} exited ({how}); {CRASH_LIMIT} died within seconds: giving up")
                return False
            replacement = self.spawn()
            say(f"web process {child.pid} exited ({how}) after {lived:.0f} s; started {replacement.pid}")
        return True

    def rolling_restart(self) -> None:
        say(f"rolling restart of {len(self.children)} web processes, one at a time")
        for old in [c for c in self.children if not c.retiring]:
            new = self.spawn()
            if not self.wait_ready([new]):
                say(f"the replacement {new.pid} did not start: restart stopped, {old.pid} keeps serving")
                self.drain(new)
                self.wait_exit([new])
                return
            self.drain(old)
            self.wait_exit([old])
            say(f"web process {old.pid} replaced by {new.pid}")

    # --- the run --------------------------------------------------------------

    def run(self, *, url: str) -> int:
        own_dir = prometheus_dir(self.env)
        previous = {
            sig: signal.signal(sig, handler)
            for sig, handler in (
                (signal.SIGTERM, self._on_stop),
                (signal.SIGINT, self._on_stop),
                (signal.SIGHUP, self._on_hup),
            )
        }
        try:
            return self._run(url)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if own_dir:
                shutil.rmtree(own_dir, ignore_errors=True)

    def _run(self, url: str) -> int:
        started = [self.spawn() for _ in range(self.count)]
        if not self.wait_ready(started):
            if self.stop_signal is None:
                say("a web process did not start (its output is above)")
            self.shutdown()
            return 0 if self.stop_signal is not None else 1
        pids = ", ".join(str(child.pid) for child in started)
        say(
            f"{self.count} web processes (pids {pids}) serve {url} on one listening socket; "
            "SIGHUP restarts them one at a time, SIGTERM drains and stops them"
        )
        while self.stop_signal is None:
            time.sleep(TICK_SECONDS)
            if self.restart_requested:
                self.restart_requested = False
                self.rolling_restart()
            if not self.replace_exited():
                self.shutdown()
                return 1
            # Replacements become ready in their own time; nothing waits on them.
            for child in self.children:
                if not child.ready and select.select([child.ready_read], [], [], 0)[0]:
                    self._close_pipe(child)
        say(f"{signal.Signals(self.stop_signal).name}: draining {len(self.children)} web processes")
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        for child in self.children:
            self.drain(child)
        self.wait_exit(list(self.children))
        self.sock.close()


def supervise(*, host: str, port: int, count: int, drain_seconds: float, daphne_argv: list[str]) -> int:
    try:
        sock = listen_socket(host, port)
    except OSError as exc:
        say(f"cannot listen on {host}:{port}: {exc}")
        return 1
    return Supervisor(sock=sock, count=count, daphne_argv=daphne_argv, drain_seconds=drain_seconds).run(
        url=f"http://{host}:{port}/"
    )
