"""Reference client of the event stream (docs/realtime.md, "Reference client").

    python -m realtime.client --url http://127.0.0.1:8000 --token <API token>

It does what any client must do to never lose an event:
1. get a single-use ticket over HTTP with the API token
   (`POST /api/v1/realtime/tickets/`): the token itself never goes in a URL;
2. connect to `/ws/stream/?ticket=...&since=<last seq it handled>`: the server
   replays every later event, then `resumed`, then live events;
3. handle each event once, in seq order (`seq == last_seq + 1`), and keep
   `last_seq`; on `resync_required` reload state over REST and continue from
   the announced `last_seq`;
4. ping at the announced heartbeat interval; after any disconnect (a close
   1012 when the web process drains for a restart, or a dropped connection
   when it dies) reconnect with exponential backoff and full jitter, back to
   step 1: the load balancer or the shared socket gives it another process.

Integration tests and `bench/ws_fanout.py` use `StreamClient`; the CLI prints
events as JSON lines.
"""

import argparse
import asyncio
import contextlib
import json
import random
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets

EventHandler = Callable[[dict[str, Any]], Awaitable[None] | None]


@dataclass
class ClientStats:
    connects: int = 0
    duplicates: int = 0  # events with seq <= last_seq (must stay 0 with this server)
    gaps: int = 0  # events with seq > last_seq + 1 (must stay 0)
    resyncs: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The code of each close frame the server sent (None: the connection
    # dropped without one, e.g. the process was killed).
    closes: list[int | None] = field(default_factory=list)


def ticket_fetch(*, base_url: str, token: str, timeout: float = 10.0) -> str:
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
        f"{base_url.rstrip('/')}/api/v1/realtime/tickets/",
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        data=b"{}",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return str(json.loads(response.read())["ticket"])


class StreamClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        on_event: EventHandler | None = None,
        last_seq: int = 0,
        symbols: list[str] | None = None,
        backoff_max: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.on_event = on_event
        self.last_seq = last_seq
        self.symbols = symbols or []
        self.backoff_max = backoff_max
        self.stats = ClientStats()
        self.connected = asyncio.Event()
        self.ws: Any = None

    def _ws_url(self, ticket: str) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}/ws/stream/?ticket={ticket}&since={self.last_seq}"

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected (reconnecting as needed) until `stop` is set."""
        attempt = 0
        while not stop.is_set():
            try:
                ticket = await asyncio.to_thread(ticket_fetch, base_url=self.base_url, token=self.token)
                async with websockets.connect(self._ws_url(ticket), max_size=2**22) as ws:
                    attempt = 0
                    await self._session(ws, stop)
            except websockets.ConnectionClosed as closed:
                # 1012: the process is draining; another one takes the reconnect.
                self.stats.closes.append(closed.rcvd.code if closed.rcvd is not None else None)
            except (OSError, websockets.WebSocketException, TimeoutError, ValueError):
                pass
            self.connected.clear()
            self.ws = None
            if stop.is_set():
                return
            cap = min(self.backoff_max, 0.2 * 2**attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cap / 2 + random.random() * cap / 2)  # noqa: S311

    async def _session(self, ws: Any, stop: asyncio.Event) -> None:
        self.ws = ws
        self.stats.connects += 1
        pinger: asyncio.Task[None] | None = None
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while True:
                receiver = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    receiver.cancel()
                    await ws.close()
                    return
                frame = json.loads(receiver.result())
                kind = frame.get("type")
                if kind == "hello":
                    pinger = asyncio.ensure_future(self._ping(ws, float(frame["heartbeat"])))
                    if self.symbols:
                        await ws.send(json.dumps({"type": "subscribe", "symbols": self.symbols}))
                elif kind == "event":
                    await self._event(frame)
                elif kind == "resumed":
                    self.connected.set()
                elif kind == "resync_required":
                    self.stats.resyncs += 1
                    self.last_seq = int(frame["last_seq"])
                    self.connected.set()
                elif kind == "error":
                    self.stats.errors.append(frame)
        finally:
            stopper.cancel()
            if pinger is not None:
                pinger.cancel()

    async def _event(self, frame: dict[str, Any]) -> None:
        seq = int(frame["seq"])
        if seq <= self.last_seq:
            self.stats.duplicates += 1
            return
        if seq > self.last_seq + 1:
            self.stats.gaps += 1
        self.last_seq = seq
        if self.on_event is not None:
            result = self.on_event(frame)
            if result is not None:
                await result

    @staticmethod
    async def _ping(ws: Any, interval: float) -> None:
        with contextlib.suppress(websockets.WebSocketException, OSError):
            while True:
                await asyncio.sleep(interval)
                await ws.send('{"type":"ping"}')


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the TradeVision event stream.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an API token (accounts)")
    parser.add_argument("--since", type=int, default=0, help="last seq already handled")
    parser.add_argument("--symbol", action="append", default=[], help="ticker to subscribe to")
    args = parser.parse_args()

    def show(frame: dict[str, Any]) -> None:
        print(json.dumps(frame), flush=True)

    client = StreamClient(
        base_url=args.url, token=args.token, on_event=show, last_seq=args.since, symbols=args.symbol
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(client.run(asyncio.Event()))


if __name__ == "__main__":
    main()
