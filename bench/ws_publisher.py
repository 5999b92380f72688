"""The publisher process of bench/ws_fanout.py (run by it, not by hand).

`ours`: each event through the real path, `realtime.publish.publish` inside
`transaction.atomic()` (outbox row + after-commit send), `--per-tx` events
per transaction (1 = one transaction per event, like a service publishing
one change; more = a service publishing several, as a settlement does).
`many`: the real path for a batch, `realtime.publish.publish_many` (one
statement and one pipelined send per transaction of `--per-tx` events, as
settlement publishes): a publisher of ours that can outrun one web process.
`bare`: a Redis PUBLISH per event (a pipeline of `--per-tx`), for the relay.

Open loop with `--rate`: each batch starts on its schedule whether or not
earlier ones finished (`late` counts those that started behind it); with
`--rate 0` as fast as the threads can. The body carries `time.time()` taken
just before commit, from which the clients compute latency. Prints one JSON
line: sent, late, seconds.
"""

import argparse
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


def make_sender(kind: str, phase: str) -> tuple[Callable[[list[tuple[int, int]]], None], Callable[[], None]]:
    if kind in ("ours", "many"):
        import django

        django.setup()
        from django.db import connection, transaction

        from realtime.publish import Publication, publish, publish_many

        def send_ours(batch: list[tuple[int, int]]) -> None:
            with transaction.atomic():
                for user_id, _seq in batch:
                    data = {"title": phase, "body": repr(time.time()), "level": "info"}
                    publish(user_id=user_id, event="notification", data=data)

        def send_many(batch: list[tuple[int, int]]) -> None:
            with transaction.atomic():
                publish_many(
                    [
                        Publication(
                            user_id,
                            "notification",
                            {"title": phase, "body": repr(time.time()), "level": "info"},
                        )
                        for user_id, _seq in batch
                    ]
                )

        return (send_many if kind == "many" else send_ours), connection.close

    import redis

    local = threading.local()

    def send_bare(batch: list[tuple[int, int]]) -> None:
        if not hasattr(local, "r"):
            local.r = redis.Redis.from_url(os.environ["REDIS_URL"])
        pipe = local.r.pipeline(transaction=False)
        for user_id, seq in batch:
            frame = {"type": "event", "seq": seq, "phase": phase, "t": time.time()}
            pipe.publish(f"relay.user.{user_id}", json.dumps(frame))
        pipe.execute()

    return send_bare, lambda: None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["ours", "many", "bare"], required=True)
    parser.add_argument("--phase", required=True)
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--per-tx", type=int, default=1)
    parser.add_argument("--users-file", required=True)
    parser.add_argument("--seq-base", type=int, default=0)
    args = parser.parse_args()

    users = [int(u) for u in Path(args.users_file).read_text().split()]
    send, close = make_sender(args.kind, args.phase)
    batches = [list(range(i, min(i + args.per_tx, args.count))) for i in range(0, args.count, args.per_tx)]
    sent = [0] * args.threads
    late = [0] * args.threads
    start = 0.0

    def worker(k: int) -> None:
        try:
            for b in range(k, len(batches), args.threads):
                first = batches[b][0]
                if args.rate > 0:
                    delay = start + first / args.rate - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -0.01:
                        late[k] += 1
                send([(users[i % len(users)], args.seq_base + i // len(users) + 1) for i in batches[b]])
                sent[k] += len(batches[b])
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
    start = time.time() + 0.1
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"sent": sum(sent), "late": sum(late), "seconds": round(time.time() - start, 3)}))


if __name__ == "__main__":
    main()
