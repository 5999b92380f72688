"""Browser tests: a real Chromium (Debian's, driven by Playwright) against a
real stack started by the test: daphne serving `config.asgi`, a Celery
worker and, where needed, the market feed, all on the test's PostgreSQL
database and Redis.

How the live server shares the test database: each test module is marked
`django_db(transaction=True)`, so what the test writes is committed and
visible to the subprocesses, which are pointed at the test database by name
(`DATABASE_URL`). After the test the database is flushed, as for any
transactional test; the seed instruments are put back at the start of each
test by the trading app's own (idempotent) seed function. Not
`serialized_rollback`: mixed with plain transactional tests in one run, its
restore collides with the content types their flush re-creates. The
processes inherit the run's CHANNEL_PREFIX, so their channel layer and cache
are the test's own.

Static files: the test settings run with DEBUG off, so WhiteNoise serves
from STATIC_ROOT; `collectstatic` runs once per session.

Playwright's sync API runs an event loop in this thread, which makes
Django's async-safety check refuse ORM calls from the test;
DJANGO_ALLOW_ASYNC_UNSAFE is set for this process only (never for the
servers).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from tests import children

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PYTHON = sys.executable
STARTUP_TIMEOUT = 60


def _server_env() -> dict[str, str]:
    """The subprocesses' environment: the test database by name, the run's
    Redis and channel prefix, the test settings; never the async-unsafe flag."""
    return children.child_env()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        children.stop(self.popen, timeout=15)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    """The processes of one test; `url` is the live server's base URL."""

    url: str = ""
    procs: list[Proc] = field(default_factory=list)
    logs: Path = ARTIFACTS / "logs"

    def start(self, name: str, args: list[str]) -> Proc:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        log.unlink(missing_ok=True)
        popen = children.spawn(args, name=name, log=log, env=_server_env())
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")


def _wait_http(url: str, proc: Proc) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer on {url}:\n{proc.tail()}")


def _wait_log(proc: Proc, needle: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        if needle in proc.log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} never logged {needle!r}:\n{proc.tail()}")


@pytest.fixture(scope="session")
def _static_collected() -> None:
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        check=True,
    )


def _seed_instruments() -> None:
    """The instruments the trading app's data migration seeds (idempotent):
    a transactional test before this one may have flushed them. The model is
    `market.Instrument` now (same table)."""
    from market.models import Instrument

    seed_migration = importlib.import_module("trading.migrations.0002_seed_instruments")
    seed_migration.seed_rows(Instrument)


@pytest.fixture
def stack(_static_collected: None, transactional_db: Any, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """daphne on a free port, on the test database. Stopped after the test.
    The processes' logs go to test-artifacts/logs/<test name>/."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    _seed_instruments()
    s = Stack(logs=ARTIFACTS / "logs" / request.node.name)
    port = children.free_port()
    web = s.start(
        "web",
        [PYTHON, "-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
    )
    s.url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{s.url}/static/frontend/css/base.css", web)
        yield s
    finally:
        s.stop()


@pytest.fixture
def worker(stack: Stack) -> Proc:
    """A real Celery worker (one process) on the test database and Redis."""
    proc = stack.start(
        "worker",
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
    )
    _wait_log(proc, "ready.")
    return proc


@pytest.fixture
def feed(stack: Stack) -> Proc:
    """The market feed for two always-open instruments, ticking fast."""
    proc = stack.start(
        "feed",
        [PYTHON, "manage.py", "run_market_feed", "--symbols", "BTC-USD,ETH-USD", "--tick-interval", "0.25"],
    )
    _wait_log(proc, "feed started")
    return proc


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium for one test. While Playwright's sync API runs, its event
    loop makes Django hand out other connection objects (asgiref locals);
    they are closed before Playwright stops, at the end of each test, or
    they would keep the test database busy."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        # Close the connections Django opened under Playwright's loop (see
        # above), or they would keep the test database busy.
        connections.close_all()
        chromium.close()


@pytest.fixture
def page_factory(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """New browser pages (own context each); a screenshot of every page is
    saved under test-artifacts/ when the test ends, pass or fail."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(*, width: int = 1280, height: int = 800) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        pages.append(page)
        return page

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    for index, page in enumerate(pages):
        suffix = f"-{index}" if index else ""
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}{suffix}-end.png"), full_page=True)
        except Exception:
            pass
    for context in contexts:
        context.close()


def login_session(page: Any, stack: Stack, user: Any) -> None:
    """Give the page's browser context a logged-in session cookie for `user`
    (the login form itself is exercised by the login test)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": stack.url, "httpOnly": True}]
    )


def shot(page: Any, name: str) -> None:
    """Save a named screenshot now (states the status page passes through)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
