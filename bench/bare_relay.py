"""The baseline for bench/ws_fanout.py: a bare WebSocket relay.

A `websockets` server; each client connects to `/?user=<id>` and the server
subscribes one shared Redis pub/sub connection to `relay.user.<id>`; every
message published there is written to that user's sockets as is. No auth,
no outbox, no resume: the least work a Redis-backed fan-out can do, so the
ratio to it measures what the real stack costs.

    python bench/bare_relay.py --port 8765 --redis redis://127.0.0.1:6379/0
"""

import argparse
import asyncio
import contextlib
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
import websockets
from websockets.asyncio.server import ServerConnection, serve


async def main(port: int, redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    sockets: dict[str, set[ServerConnection]] = defaultdict(set)
    lock = asyncio.Lock()

    async def handler(ws: ServerConnection) -> None:
        user = parse_qs(urlsplit(ws.request.path).query).get("user", [""])[0]
        if not user.isdigit():
            await ws.close(4001)
            return
        channel = f"relay.user.{user}"
        async with lock:
            sockets[channel].add(ws)
            await pubsub.subscribe(channel)
        await ws.send('{"type":"hello"}')
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:  # pings from the client; nothing to answer
                pass
        sockets[channel].discard(ws)

    async def pump() -> None:
        while True:
            if not pubsub.subscribed:
                await asyncio.sleep(0.05)
                continue
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            for ws in list(sockets.get(message["channel"].decode(), ())):
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.send(message["data"].decode())

    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_size=65536):
        await pump()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.redis))
