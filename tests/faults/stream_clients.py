"""Reference WebSocket clients (`realtime.client.StreamClient`) held open on
a thread of their own while a synchronous fault test runs, to check delivery
from a client's point of view: each user's events received exactly once, in
seq order, across whatever the test breaks.

`StreamClients.finish(user_ids)` publishes one more event per user (the
fence) and waits until every client has it: a duplicate of an earlier event
still on its way would have arrived before it, so what the clients hold
then is final.
"""

import asyncio
import threading
import time

from django.db import transaction

from realtime.client import StreamClient
from realtime.models import EventCounter
from realtime.publish import publish
from realtime.schemas import notification_data


class StreamClients:
    def __init__(self, *, base_url: str, tokens: dict[int, str]) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.received: dict[int, list[int]] = {uid: [] for uid in tokens}
        self.clients: list[StreamClient] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for uid, token in self.tokens.items():
            client = StreamClient(
                base_url=self.base_url,
                token=token,
                on_event=lambda f, uid=uid: self.received[uid].append(f["seq"]),
            )
            self.clients.append(client)
        runners = [asyncio.ensure_future(c.run(self._stop)) for c in self.clients]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in self.clients)), 60)
        self._ready.set()
        await asyncio.gather(*runners)

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(90), "the stream clients did not connect"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _wait_received(self, last: dict[int, int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any((self.received[uid] or [0])[-1] < last[uid] for uid in last):
            assert time.monotonic() < deadline, {uid: (len(self.received[uid]), last[uid]) for uid in last}
            time.sleep(0.1)

    def finish(self, timeout: float = 60) -> dict[int, int]:
        """Wait for every stored event, then for the fence; returns each user's last seq."""
        users = list(self.tokens)
        self._wait_received(
            dict(EventCounter.objects.filter(user_id__in=users).values_list("user_id", "last_seq")), timeout
        )
        with transaction.atomic():
            last = {
                uid: publish(
                    user_id=uid, event="notification", data=notification_data(title="fence", body="")
                ).seq
                for uid in users
            }
        self._wait_received(last, timeout)
        return last

    def assert_exactly_once(self, last: dict[int, int]) -> None:
        for uid, seqs in self.received.items():
            assert seqs == list(range(1, last[uid] + 1)), (uid, seqs[:5], len(seqs), last[uid])
        assert all((c.stats.duplicates, c.stats.gaps) == (0, 0) for c in self.clients)
