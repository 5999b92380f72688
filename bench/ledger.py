"""Ledger throughput: transfers per second through the wallet services beside
the same transfer written as raw SQL, in one run, on a database of its own.

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/ledger.py

Creates (and at the end drops) the database `tv_bench_ledger` on the server
of DATABASE_URL, migrates it, and measures four loads for BENCH_SECONDS each
with BENCH_WORKERS worker processes, one connection each:

- services_many: `wallet_reserve` / `wallet_release` alternately, each on a
  random one of BENCH_USERS users (two accounts, two entries, one
  `wallet.balance` event per transfer);
- services_hot: the same, every transfer on one user's accounts;
- services_hot_batched: `wallet_reserve_batch` of BENCH_BATCH items on the
  hot user (one transaction and one commit per batch), counted in transfers;
- raw_many / raw_hot: the measured transfer of docs/decisions.md in psycopg: lock two accounts in
  id order, insert the transaction and its two entries, update both
  balances, commit (same tables, so the same triggers run).

Prints JSON with transfers/s for each and the services/raw ratios; the
issue's goals are ratio >= 0.4 and services_hot >= 1,000/s.
"""

import json
import multiprocessing
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_exec  # noqa: E402
from config.env import with_database  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
USERS = int(os.environ.get("BENCH_USERS", "1000"))
BENCH_DB = os.environ.get("BENCH_DB", "tv_bench_ledger")
BATCH = int(os.environ.get("BENCH_BATCH", "20"))
AMOUNT = Decimal("0.01")


def _conninfo(url: str) -> str:
    # psycopg takes postgres:// URLs directly.
    return url


def run_for(seconds: float, workers: int, make_worker) -> float:
    """Run `workers` processes for `seconds`; return completed transfers per second.

    Processes, not threads: a deployment runs several web and worker
    processes, and in one process Python threads queue on the GIL while one
    of them holds a row lock, which would measure the interpreter, not the
    ledger. Each process opens its own database connection."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(workers + 1)
    stop = ctx.Event()
    results = ctx.Queue()

    def loop(i: int) -> None:
        step = make_worker(i)
        start.wait()
        n = errors = 0
        while not stop.is_set():
            try:
                step(n)
            except Exception as exc:  # counted and reported, never silently dropped
                errors += 1
                if errors == 1:
                    print(f"worker {i}: {type(exc).__name__}: {exc}", file=sys.stderr)
            n += 1
        results.put((n - errors, errors))

    procs = [ctx.Process(target=loop, args=(i,)) for i in range(workers)]
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    done = [results.get() for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    failed = sum(e for _, e in done)
    if failed:
        raise SystemExit(f"{failed} transfers failed; see the errors above")
    return sum(n for n, _ in done) / elapsed


def _commit_latency_ms(url: str) -> float:
    """Milliseconds of one durable one-row UPDATE + COMMIT: the floor of a hot
    account's lock hold time, and so the ceiling of unbatched hot throughput."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO bench_commit_probe VALUES (1, 0)")
        conn.commit()
        began = time.perf_counter()
        for _ in range(200):
            conn.execute("UPDATE bench_commit_probe SET v = v + 1 WHERE id = 1")
            conn.commit()
        elapsed = time.perf_counter() - began
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
    return round(elapsed / 200 * 1000, 3)


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    url = with_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = url
    try:
        result = _bench(url)
    finally:
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(json.dumps(result, indent=2))


def _bench(url: str) -> dict:
    import django

    django.setup()
    import psycopg
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from wallets import services
    from wallets.models import Account
    from wallets.services import ReserveItem

    call_command("migrate", verbosity=0)
    User = get_user_model()
    User.objects.bulk_create([User(username=f"bench{i}") for i in range(USERS)])
    users = list(User.objects.order_by("id"))
    for user in users:
        services.wallet_deposit(user=user, amount=Decimal("50000.00"), currency="USD", idempotency_key="fund")
    accounts = {
        (owner, kind): pk
        for pk, owner, kind in Account.objects.filter(owner__isnull=False).values_list(
            "id", "owner_id", "kind"
        )
    }
    connection.close()
    hot = users[0]
    commit_ms = _commit_latency_ms(url)

    def service_worker(pick, tag):
        def make(i):
            rng = random.Random(i)
            state = {}

            def step(n):
                # A reserve on a user, then the release of it on the same user.
                user = state["user"] = pick(rng) if n % 2 == 0 else state["user"]
                key = f"{tag}-{i}-{n}"
                if n % 2 == 0:
                    services.wallet_reserve(
                        user=user, amount=AMOUNT, currency="USD", reference="bench", idempotency_key=key
                    )
                else:
                    services.wallet_release(
                        user=user, amount=AMOUNT, currency="USD", reference="bench", idempotency_key=key
                    )

            return step

        return make

    def raw_worker(pick, tag):
        def make(i):
            rng = random.Random(1000 + i)
            conn = psycopg.connect(_conninfo(url))
            state = {}

            def step(n):
                user = state["user"] = pick(rng) if n % 2 == 0 else state["user"]
                a, r = accounts[(user.pk, "available")], accounts[(user.pk, "reserved")]
                src, dst = (a, r) if n % 2 == 0 else (r, a)
                with conn.transaction():
                    conn.execute(
                        "SELECT id FROM wallets_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                        [[src, dst]],
                    )
                    tx_id = conn.execute(
                        "INSERT INTO wallets_ledgertransaction (user_id, kind, currency, amount, reference,"
                        " idempotency_key, fingerprint, memo, created_at) VALUES"
                        " (%s, 'transfer', 'USD', %s, 'bench-raw', %s, '', '', now()) RETURNING id",
                        [user.pk, AMOUNT, f"{tag}-{i}-{n}"],
                    ).fetchone()[0]
                    conn.execute(
                        "INSERT INTO wallets_entry (transaction_id, account_id, amount)"
                        " VALUES (%s, %s, %s), (%s, %s, %s)",
                        [tx_id, src, -AMOUNT, tx_id, dst, AMOUNT],
                    )
                    conn.execute(
                        "UPDATE wallets_account SET balance = balance - %s WHERE id = %s", [AMOUNT, src]
                    )
                    conn.execute(
                        "UPDATE wallets_account SET balance = balance + %s WHERE id = %s", [AMOUNT, dst]
                    )

            return step

        return make

    def many(rng):
        return users[rng.randrange(len(users))]

    def one(rng):
        return hot

    def batched_worker(pick, tag):
        """`wallet_reserve_batch` of BATCH items, then the matching release batch
        is not needed: the hot user holds 50,000.00 and each item is 0.01."""

        def make(i):
            rng = random.Random(2000 + i)

            def step(n):
                user = pick(rng)
                items = [ReserveItem(AMOUNT, "bench", f"{tag}-{i}-{n}-{k}") for k in range(BATCH)]
                services.wallet_reserve_batch(user=user, currency="USD", items=items)

            return step

        return make

    figures = {}
    for name, make in (
        ("raw_many", raw_worker(many, "raw_many")),
        ("services_many", service_worker(many, "services_many")),
        ("raw_hot", raw_worker(one, "raw_hot")),
        ("services_hot", service_worker(one, "services_hot")),
        ("services_hot_batched", batched_worker(one, "services_hot_batched")),
    ):
        per_step = BATCH if name.endswith("batched") else 1
        figures[name] = round(run_for(SECONDS, WORKERS, make) * per_step, 1)

    from tests.wallets.helpers import ledger_invariants

    ledger_invariants()
    connection.close()
    return {
        "bench": "ledger",
        "workers": WORKERS,
        "seconds_per_load": SECONDS,
        "users": USERS,
        "transfers_per_second": figures,
        "ratio_services_to_raw": {
            "many": round(figures["services_many"] / figures["raw_many"], 3),
            "hot": round(figures["services_hot"] / figures["raw_hot"], 3),
            "hot_batched": round(figures["services_hot_batched"] / figures["raw_hot"], 3),
        },
        "batch_size": BATCH,
        "commit_ms": commit_ms,
        "goals": {"ratio_min": 0.4, "services_hot_min": 1000},
    }


if __name__ == "__main__":
    main()
