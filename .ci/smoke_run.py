"""Smoke test of the README's first command, as a new user meets it.

    .venv/bin/python .ci/smoke_run.py --python python3.13

Starts `<python> dev.py run` in this checkout with DATABASE_URL and REDIS_URL
unset (so on the embedded PostgreSQL and Valkey), waits for /healthz, logs in
as the demo user over HTTP with the login the run printed, places a trade
through the API and waits for `trade.opened` on the WebSocket. Then it sends
Ctrl-C (SIGINT to the run's process group, as a terminal does) and checks
that every process the run started has gone, the embedded servers included:
each carries a mark in its environment, so even a daemonised server or an
orphan is found. Prints one JSON object with the timings; exits 1 on any
failure, with the run's last output lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
MARK = "TV_SMOKE_RUN"


class SmokeFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def wait(condition: Any, *, timeout: float, what: str, run: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise SmokeFailed(f"./dev.py run exited ({run.returncode}) while waiting for {what}")
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise SmokeFailed(f"timed out after {timeout:g} s waiting for {what}")


def marked_processes(mark: str) -> list[str]:
    """Live processes whose environment carries `mark` (zombies are dead)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if f"{MARK}={mark}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"pid {entry.name}: {cmdline.strip()[:160]}")
        except (OSError, IndexError):
            continue
    return found


def smoke(python: str, log_path: Path) -> dict[str, Any]:
    mark = uuid.uuid4().hex
    port = 8000 if _port_free(8000) else free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({MARK: mark, "PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    timings: dict[str, Any] = {"python": python, "port": port}
    started = time.monotonic()
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            [python, "dev.py", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        login = wait(lambda: _printed_login(log_path), timeout=600, what="the login line", run=run)
        wait(lambda: http("GET", f"{base}/healthz")[0] == 200, timeout=120, what="/healthz 200", run=run)
        timings["healthz_s"] = round(time.monotonic() - started, 1)

        status, body = http(
            "POST", f"{base}/api/v1/auth/token/", {"username": login[0], "password": login[1]}
        )
        if status != 200:
            raise SmokeFailed(f"demo login answered {status}: {body}")
        auth = {"Authorization": f"Token {body['token']}"}
        wait(lambda: _priced(base, auth), timeout=60, what="a BTC-USD price from the feed", run=run)

        status, body = http("POST", f"{base}/api/v1/realtime/tickets/", {}, auth)
        if status not in (200, 201):
            raise SmokeFailed(f"ticket answered {status}: {body}")
        with connect(f"ws://127.0.0.1:{port}/ws/stream/?ticket={body['ticket']}", open_timeout=10) as ws:
            hello = json.loads(ws.recv(timeout=10))
            placed = time.monotonic()
            status, trade = http(
                "POST",
                f"{base}/api/v1/trades/",
                {"instrument": "BTC-USD", "side": "buy", "stake": "25.00", "duration": 300},
                {**auth, "Idempotency-Key": f"smoke-{mark}"},
            )
            if status != 202:
                raise SmokeFailed(f"trade request answered {status}: {trade}")
            opened = _await_event(ws, "trade.opened", trade["id"], timeout=60)
            timings["request_to_opened_ms"] = round((time.monotonic() - placed) * 1000)
        timings.update(hello_type=hello.get("type"), trade_id=trade["id"], opened_seq=opened.get("seq"))
    except BaseException:
        _interrupt(run)
        raise

    stopping = time.monotonic()
    code = _interrupt(run)
    left = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = marked_processes(mark)
        if not left:
            break
        time.sleep(0.5)
    timings.update(exit_code=code, shutdown_s=round(time.monotonic() - stopping, 1))
    if left:
        for line in left:
            pid = int(line.split()[1].rstrip(":"))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise SmokeFailed("processes of the run outlived Ctrl-C:\n  " + "\n  ".join(left))
    if (ROOT / ".data" / "pg18" / "postmaster.pid").exists():
        raise SmokeFailed("the embedded PostgreSQL left its postmaster.pid: it did not stop cleanly")
    if not _port_free(int(os.environ.get("EMBEDDED_REDIS_PORT", "6390"))):
        raise SmokeFailed("something still listens on the embedded Redis port")
    timings["total_s"] = round(time.monotonic() - started, 1)
    return timings


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _printed_login(log_path: Path) -> tuple[str, str] | None:
    found = re.search(r"Log in as '([^']+)' with password '([^']+)'", log_path.read_text(errors="replace"))
    return (found.group(1), found.group(2)) if found else None


def _priced(base: str, auth: dict[str, str]) -> bool:
    status, body = http("GET", f"{base}/api/v1/instruments/BTC-USD/", headers=auth)
    quote = body.get("quote") if status == 200 and isinstance(body, dict) else None
    return bool(quote) and quote["price"] is not None and not quote["stale"]


def _await_event(ws: Any, name: str, trade_id: int, *, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        seen.append(frame.get("event") or frame.get("type"))
        if frame.get("event") == name and frame.get("data", {}).get("id") == trade_id:
            return dict(frame)
        if frame.get("event") in {"trade.rejected", "trade.failed"} and frame["data"].get("id") == trade_id:
            raise SmokeFailed(f"the trade ended {frame['event']}: {frame['data']}")
    raise SmokeFailed(f"no {name} for trade {trade_id} within {timeout:g} s; frames seen: {seen}")


def _interrupt(run: subprocess.Popen[bytes]) -> int | None:
    """Ctrl-C as a terminal sends it: SIGINT to the whole foreground group."""
    if run.poll() is None:
        try:
            os.killpg(run.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    try:
        return run.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        raise SmokeFailed("./dev.py run did not exit within 90 s of Ctrl-C") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter a new user runs dev.py with"
    )
    parser.add_argument("--log", default=str(ROOT / "test-artifacts" / "smoke-run.log"))
    args = parser.parse_args()
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        print(json.dumps({"smoke_run": smoke(args.python, log_path)}))
        return 0
    except (SmokeFailed, OSError, TimeoutError) as failure:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:]) if log_path.exists() else ""
        print(f"SMOKE FAILED: {failure}\n--- last lines of ./dev.py run:\n{tail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
