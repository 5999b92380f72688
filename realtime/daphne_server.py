"""One daphne web process, as `python -m realtime.server` runs it.

What differs from plain daphne 4.2.3 (docs/realtime.md "Close codes",
docs/scaling.md "Draining"):

- The `reason` of the application's `websocket.close` is sent in the close
  frame; daphne drops it.
- A message above `--websocket-max-message-size` is answered with the same
  close frame the consumer sends for one (4013, "frame over N bytes").
  autobahn's default (`failByDrop`) drops the TCP connection instead, so the
  client saw 1006 and no reason. The rest of the oversize frame is read and
  discarded, never buffered, and autobahn still drops the connection if the
  client does not answer the close within its close-handshake timeout.
- SIGTERM (and SIGINT) drains: the process stops accepting (other processes
  on the same socket, or behind the balancer, take the new connections),
  closes every WebSocket with 1012 "server restarting, reconnect", lets
  HTTP requests in flight finish, and exits once every connection is gone
  or `--drain-seconds` have passed. SIGINT while draining (Ctrl-C twice)
  stops it at once; another SIGTERM is ignored (a process group's SIGTERM
  and the supervisor's arrive together).
- `X-Forwarded-*`, `Forwarded` and daphne's `Daphne-Root-Path` request
  headers are removed unless the TCP peer is in `settings.TRUSTED_PROXY`
  (the load balancer): only the balancer may say who the client is, which
  scheme and host it used (daphne's `--proxy-headers` and Django's
  `USE_X_FORWARDED_HOST` / `SECURE_PROXY_SSL_HEADER` read them).
- Twisted does not parse form bodies (`ProxyCheckedRequest`): Django does,
  and answers a malformed one with the site's 400.
- autobahn's `pformat` of every connection's settings, made for a debug
  log line that is off, is done only if that line is written: it was a
  tenth of an accept's CPU in a reconnect storm (docs/scaling.md,
  "Accepts").
- A connection's writes go out at the end of the event loop's turn
  (`TurnFlushedServer`), not after a round of epoll registration.
- Once serving, the process freezes what exists and sets the garbage
  collector's thresholds (realtime/collector.py): CPython's defaults made
  a reconnect storm pay for one full collection after another.
- Started by the supervisor (realtime/supervisor.py) it serves an inherited
  listening socket, tells the supervisor when it is ready, and drains if
  the supervisor dies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import pprint
import signal
import socket
import time
from functools import cache
from typing import Any

import autobahn.websocket.protocol
import daphne.server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import reactor as _reactor
from twisted.internet import tcp
from twisted.internet.task import LoopingCall
from twisted.python.log import callWithLogger

from realtime import collector, lifecycle
from realtime.close_codes import CLOSE_SERVICE_RESTART, CLOSE_TOO_BIG, SERVICE_RESTART_REASON, too_big_reason

logger = logging.getLogger("realtime.server")
# The asyncio reactor daphne installed (Twisted's stubs type the module, not it).
reactor: Any = _reactor

DRAIN_CHECK_SECONDS = 0.1


# --- autobahn's debug formatting ---------------------------------------------------


class LazyPformat:
    """`pprint.pformat(value)` when, and only if, a log line is written."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    __repr__ = __str__


# Framework internal: autobahn calls its module's `pformat` for debug lines
# only (websocket/protocol.py); tests/realtime/test_channels_internals.py
# fails if that name goes away.
autobahn.websocket.protocol.pformat = LazyPformat  # type: ignore[assignment]


# --- writes: at the end of the loop's turn -----------------------------------------


class TurnFlushedServer(tcp.Server):
    """A server connection whose buffered writes are sent at the end of the
    event loop's turn.

    Twisted buffers a write, registers the socket for writability (an epoll
    change), sends when the loop reports it writable and unregisters it (a
    second change): per event frame, two system calls and a turn of the
    loop, about a fifth of the server's CPU per frame in the fan-out profile
    (bench/REPORT.md, "Fan-out"). A connected socket is nearly always
    writable, so here the send is a callback at the end of the turn: the
    reactor's own `_readOrWrite(self, False)`, as a writable event would run
    it (the same `doWrite`, the same handling of a lost connection and of
    `loseConnection`). Writes of one turn still go out together. Only data
    the kernel does not take waits for writability, the usual way.

    Framework internals: `reactor._asyncioEventloop` and
    `reactor._readOrWrite` of Twisted's asyncio reactor;
    tests/realtime/test_channels_internals.py fails if they go away."""

    _flush_scheduled = False
    _awaiting_writable = False

    def startWriting(self) -> None:
        if self._flush_scheduled or self._awaiting_writable:
            return
        self._flush_scheduled = True
        self.reactor._asyncioEventloop.call_soon(self._flush)

    def stopWriting(self) -> None:
        self._awaiting_writable = False
        super().stopWriting()

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self.disconnected or self._awaiting_writable:
            return
        callWithLogger(self, self.reactor._readOrWrite, self, False)
        unsent = self._tempDataLen or len(self.dataBuffer) > self.offset
        if unsent and not self.disconnected:
            super().startWriting()
            self._awaiting_writable = True


# --- WebSocket close frames -------------------------------------------------------


class StreamProtocol(WebSocketProtocol):
    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.close" and self.state != self.STATE_CONNECTING:
            self.sendClose(code=message.get("code") or 1000, reason=message.get("reason") or None)
            return
        if kind == "websocket.send" and self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # After a close the server sent on its own (a draining process's
            # 1012) the application does not know yet and may still send an
            # event; autobahn raises on it. The frame goes nowhere: the client
            # resumes from the last seq it received.
            return
        super().handle_reply(message)

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        # autobahn's hook for a frame or message over the limit; its default
        # is a 1009 that failByDrop turns into a bare TCP drop.
        self._fail_connection(CLOSE_TOO_BIG, too_big_reason(max_msg_size))

    def close_for_restart(self) -> bool:
        """Send 1012 if the socket is open; True if it was. autobahn's
        sendClose takes only 1000 and 3000-4999 (the application's range);
        the frame itself carries any code."""
        if self.state != self.STATE_OPEN:
            return False
        self.sendCloseFrame(
            code=CLOSE_SERVICE_RESTART, reasonUtf8=SERVICE_RESTART_REASON.encode(), isReply=False
        )
        return True


class StreamFactory(WebSocketFactory):
    protocol = StreamProtocol

    def setProtocolOptions(self, *args: Any, **kwargs: Any) -> None:
        # failByDrop=False: failing a connection sends a close frame first.
        super().setProtocolOptions(*args, **{**kwargs, "failByDrop": False})


# --- proxy headers: only from TRUSTED_PROXY ----------------------------------------


@cache
def trusted_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    from django.conf import settings

    return tuple(ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXY)


def peer_is_trusted(host: str | None) -> bool:
    """True if `host` (the TCP peer's address) is a trusted proxy. A Unix
    socket peer (no address) is not."""
    networks = trusted_networks()
    if not host or not networks:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def is_proxy_header(name: bytes) -> bool:
    lowered = name.lower()
    return lowered.startswith(b"x-forwarded-") or lowered in {b"forwarded", b"daphne-root-path"}


class ProxyCheckedRequest(WebRequest):
    """daphne's request (HTTP, and the handshake of a WebSocket), without the
    proxy headers of a peer that is not a trusted proxy, and without
    Twisted's parsing of form bodies.

    Twisted parses a POST's urlencoded or multipart body into `request.args`,
    which daphne never reads (it passes the raw body to the application): a
    second parse of every upload, and a multipart body it cannot parse (no
    boundary, `boundary=` empty) was answered by Twisted itself with a bare
    `400 Bad Request`, no headers, no body, no request id, on any path.
    Django parses the body, when a view asks for it, and answers with the
    site's 400 (docs/decisions.md, "Edges found by the hostile probe")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "parsePOSTFormSubmission": False})

    def process(self) -> Any:
        if not peer_is_trusted(getattr(self.client, "host", None)):
            for name, _ in list(self.requestHeaders.getAllRawHeaders()):
                if is_proxy_header(name):
                    self.requestHeaders.removeHeader(name)
        return super().process()


class ProxyCheckedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = ProxyCheckedRequest
        return protocol


# --- the server: readiness, draining ------------------------------------------------


class StreamServer(daphne.server.Server):
    """daphne's Server with draining on SIGTERM/SIGINT (see the module doc)."""

    # Set by `serve` before daphne's command line builds the server.
    drain_seconds: float = 10.0
    inherited_fd: int | None = None
    ready_fd: int | None = None
    parent_pid: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted's handlers would stop the reactor at once; ours drain first.
        kwargs["signal_handlers"] = False
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []
        self.draining = False
        self.drain_deadline = 0.0

    def run(self) -> None:
        reactor.callWhenRunning(self._running)
        # "after": once daphne's own "before" trigger has ended every application.
        reactor.addSystemEventTrigger("after", "shutdown", lifecycle.web_stopped)
        super().run()

    def listen_success(self, port: Any) -> None:
        # The class of the connections this port accepts (before the first).
        # TCP only: a Unix socket's port is a subclass whose connections
        # are not TCP ones.
        if type(port) is tcp.Port:
            port.transport = TurnFlushedServer
        self.ports.append(port)
        super().listen_success(port)

    def _running(self) -> None:
        loop = asyncio.get_event_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.drain, sig)
        if self.parent_pid is not None:
            LoopingCall(self._parent_check).start(1.0, now=False)
        lifecycle.web_started()
        from django.conf import settings

        # Last: everything start-up made (the hooks' too) is frozen.
        policy = collector.apply(settings.WEB_GC_THRESHOLDS)
        if self.ready_fd is not None:
            os.write(self.ready_fd, f"ready {os.getpid()}\n".encode())
            os.close(self.ready_fd)
        logger.info(
            "web process %d serving (garbage collector: %d objects frozen, thresholds %s)",
            os.getpid(),
            policy.frozen,
            "/".join(map(str, policy.thresholds)),
        )

    def _parent_check(self) -> None:
        if os.getppid() != self.parent_pid and not self.draining:
            logger.warning("the supervisor (pid %s) is gone: draining", self.parent_pid)
            self.drain(signal.SIGTERM)

    def drain(self, signum: int) -> None:
        if self.draining:
            if signum == signal.SIGINT:
                logger.warning("SIGINT while draining: stopping now")
                self.stop()
            return
        self.draining = True
        self.drain_deadline = time.monotonic() + self.drain_seconds
        for port in self.ports:
            port.stopListening()
        closed = self._close_sockets()
        logger.info(
            "web process %d draining (%s): stopped accepting, closed %d WebSockets with %d; "
            "exiting when every connection is gone or in %g s",
            os.getpid(),
            signal.Signals(signum).name,
            closed,
            CLOSE_SERVICE_RESTART,
            self.drain_seconds,
        )
        lifecycle.web_draining()
        reactor.callLater(DRAIN_CHECK_SECONDS, self._drain_check)

    def _close_sockets(self) -> int:
        return sum(
            1
            for protocol in list(self.connections)
            if isinstance(protocol, StreamProtocol) and protocol.close_for_restart()
        )

    def _drain_check(self) -> None:
        # A handshake that was under way when the drain began is open now: close it too.
        self._close_sockets()
        busy = [protocol for protocol, details in self.connections.items() if "disconnected" not in details]
        if not busy:
            logger.info("web process %d drained: every connection is closed", os.getpid())
            self.stop()
            return
        if time.monotonic() >= self.drain_deadline:
            logger.warning(
                "web process %d: %d connections still open after %g s: stopping",
                os.getpid(),
                len(busy),
                self.drain_seconds,
            )
            self.stop()
            return
        reactor.callLater(DRAIN_CHECK_SECONDS, self._drain_check)


def inherited_endpoint(fd: int) -> str:
    """The Twisted endpoint string of an inherited listening socket. daphne's
    `fd:` endpoint takes IPv4 sockets only (it passes the address family on as
    a string, which Twisted refuses for anything but its default); Twisted
    adopts a duplicate and closes `fd` itself."""
    probe = socket.socket(fileno=os.dup(fd))
    try:
        family = probe.family
    finally:
        probe.close()
    if family != socket.AF_INET:
        raise SystemExit("realtime.server: --processes serves IPv4 addresses only (-b 0.0.0.0 or 127.0.0.1)")
    return f"fd:fileno={fd}"


def serve(
    daphne_argv: list[str],
    *,
    drain_seconds: float,
    inherited_fd: int | None = None,
    ready_fd: int | None = None,
    parent_pid: int | None = None,
) -> None:
    # daphne's Server builds its factories inside run() from these
    # module-level names and offers no other hook for the classes.
    daphne.server.WebSocketFactory = StreamFactory  # type: ignore[misc]
    daphne.server.HTTPFactory = ProxyCheckedHTTPFactory  # type: ignore[misc]
    StreamServer.drain_seconds = drain_seconds
    StreamServer.inherited_fd = inherited_fd
    StreamServer.ready_fd = ready_fd
    StreamServer.parent_pid = parent_pid
    argv = list(daphne_argv)
    if inherited_fd is not None:
        argv = ["-e", inherited_endpoint(inherited_fd), *argv]
    cli = CommandLineInterface()
    cli.server_class = StreamServer
    cli.run(argv)
