"""What other apps learn of a web process's life, without realtime importing
them: ops registers functions here in its AppConfig.ready (to publish the
process's heartbeat and socket count), and the server (realtime/daphne_server.py)
calls them.

- `web_started`: the process listens and its event loop runs (called on it);
- `web_draining`: it received SIGTERM, stopped accepting and told its
  WebSocket clients to reconnect elsewhere (close 1012);
- `web_stopped`: the last moment before it exits (its event loop still runs).

A hook that raises is logged and the others still run: monitoring never
stops a server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Hook = Callable[[], None]
_hooks: dict[str, list[Hook]] = {"started": [], "draining": [], "stopped": []}


def on_web_started(fn: Hook) -> None:
    _hooks["started"].append(fn)


def on_web_draining(fn: Hook) -> None:
    _hooks["draining"].append(fn)


def on_web_stopped(fn: Hook) -> None:
    _hooks["stopped"].append(fn)


def _run(stage: str) -> None:
    for fn in _hooks[stage]:
        try:
            fn()
        except Exception:
            logger.exception("web process %s hook %r failed", stage, fn)


def web_started() -> None:
    _run("started")


def web_draining() -> None:
    _run("draining")


def web_stopped() -> None:
    _run("stopped")
