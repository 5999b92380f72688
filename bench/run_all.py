"""Run every benchmark and write bench/REPORT.md (what `./dev.py bench` runs).

    .venv/bin/python bench/run_all.py [--only a,b] [--skip a,b] [--no-report]

Each `bench/*.py` that is a benchmark (not a helper: the bare relay server,
the settings and URL modules the benches load, this file) runs as its own
process, one after the other, with this environment (DATABASE_URL names the
PostgreSQL server; each bench creates and drops its own database; REDIS_URL;
most start their own Redis). Each prints one JSON document on stdout; its
stderr goes to `.data/bench/<name>.log`. `bench/mixed_load.py` runs last.

The report puts every figure beside the baseline measured in the same run
and the goal of the issue it answers, says whether the goal is met, adds
the hand-written reading of bench/ANALYSIS.md (dated: it explains one run)
and keeps each bench's full JSON with the machine's load average around it.
A bench that is missing, fails or times out (BENCH_TIMEOUT seconds, default
1200) is reported as such, never skipped silently. The combined JSON is printed on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOGS = ROOT / ".data" / "bench"
REPORT = BENCH / "REPORT.md"
# Hand-written reading of a run (goals met or not, what limits the rest);
# copied into the report under the table.
ANALYSIS = BENCH / "ANALYSIS.md"
# Not benchmarks: servers, publishers, settings and URL modules the benches
# start or load (a helper says "not by hand" in its docstring, or is named here).
HELPERS = {"run_all.py", "bare_relay.py", "ws_publisher.py", "mixed_load.py"}
# The benches the issues asked for; one missing from bench/ is reported.
EXPECTED = ["ledger", "bars", "ws_fanout", "trades", "expiry_lag", "mixed_load"]
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "1200"))

Row = tuple[str, Any, Any, str, bool | None]  # figure, measured, baseline, goal, met


def benches() -> list[str]:
    names = [
        p.stem
        for p in sorted(BENCH.glob("*.py"))
        if p.name not in HELPERS
        and not p.stem.endswith(("_settings", "_urls"))
        and not p.stem.startswith("_")
    ]
    return [*names, "mixed_load"] if (BENCH / "mixed_load.py").exists() else names


def load_average() -> list[float]:
    """1/5/15-minute load: other work on the machine skews every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def run_one(name: str) -> dict[str, Any]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    load_before = load_average()
    started = time.monotonic()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / f"{name}.py")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            return {"status": "timeout", "seconds": round(time.monotonic() - started, 1), "log": str(log)}
    seconds = round(time.monotonic() - started, 1)
    loads = {"load_before": load_before, "load_after": load_average()}
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        return {
            "status": f"failed (exit {proc.returncode})",
            "seconds": seconds,
            "log": str(log),
            "tail": tail,
        }
    try:
        result = json.loads(text[text.index("{") :])
    except ValueError:
        return {
            "status": "no JSON on stdout",
            "seconds": seconds,
            "log": str(log),
            "stdout": text[-2000:],
            **loads,
        }
    return {"status": "ok", "seconds": seconds, "result": result, **loads}


# --- figures beside their baselines and goals, per bench ------------------------------


def get(data: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def find(data: Any, key: str) -> Any:
    """The first value of `key` anywhere in a nested document."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        values = data.values()
    elif isinstance(data, list):
        values = data
    else:
        return None
    for value in values:
        found = find(value, key)
        if found is not None:
            return found
    return None


def at_most(value: Any, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: Any, limit: float) -> bool | None:
    return None if value is None else value >= limit


def rows_ledger(r: dict[str, Any]) -> list[Row]:
    tps = r.get("transfers_per_second", {})
    ratio = r.get("ratio_services_to_raw", {})
    return [
        ("transfers/s, many accounts", tps.get("services_many"), f"raw SQL {tps.get('raw_many')}",
         "≥ 0.4x raw", at_least(ratio.get("many"), 0.4)),
        ("transfers/s, one hot account", tps.get("services_hot"), f"raw SQL {tps.get('raw_hot')}",
         "≥ 1,000/s", at_least(tps.get("services_hot"), 1000)),
        ("transfers/s, hot account batched", tps.get("services_hot_batched"), f"raw SQL {tps.get('raw_hot')}",
         "(alternative)", None),
    ]  # fmt: skip


def rows_bars(r: dict[str, Any]) -> list[Row]:
    case = next(
        (c for c in r.get("cases", []) if c.get("range") == "month" and c.get("interval") == "1h"), {}
    )
    return [
        ("month of 1h bars, API p99 ms", get(r, "goal", "p99_ms"), f"its SQL alone {case.get('sql_p99_ms')}",
         "< 50 ms, index used", bool(get(r, "goal", "met")) and bool(get(r, "goal", "index_used"))),
    ]  # fmt: skip


def rows_trades(r: dict[str, Any]) -> list[Row]:
    http, opened, settle = r.get("http", {}), r.get("opened", {}), r.get("settlement", {})
    sizes = sorted((k for k in settle if k.isdigit()), key=int)
    rows: list[Row] = [
        ("POST /api/v1/trades/ p99 ms (50 clients)", get(http, "post_trades", "p99_ms"),
         f"bare INSERT endpoint {get(http, 'bare_insert', 'p99_ms')}", "≤ 25 ms",
         at_most(get(http, "post_trades", "p99_ms"), 25)),
        ("POST /api/v1/trades/ requests/s", get(http, "post_trades", "requests_per_s"),
         f"bare INSERT endpoint {get(http, 'bare_insert', 'requests_per_s')}", "—", None),
        ("request → trade.opened p50 ms", opened.get("p50_ms"), "—", "≤ 20 ms",
         at_most(opened.get("p50_ms"), 20)),
        ("request → trade.opened p99 ms", opened.get("p99_ms"), "—", "≤ 100 ms",
         at_most(opened.get("p99_ms"), 100)),
    ]  # fmt: skip
    for size in sizes:
        tps = get(settle, size, "trades_per_s")
        rows.append((f"settlement trades/s ({size} trades)", tps, "—", "≥ 5,000/s", at_least(tps, 5000)))
    if "time_ratio" in settle and len(sizes) == 2:
        label = f"settlement time {sizes[1]} / {sizes[0]} trades"
        rows.append((label, settle["time_ratio"], "—", "≤ 2.2x (200k / 100k)",
                     at_most(settle["time_ratio"], 2.2)))  # fmt: skip
    return rows


def rows_expiry_lag(r: dict[str, Any]) -> list[Row]:
    frame, commit = r.get("expiry_to_settled_frame", {}), r.get("expiry_to_event_commit", {})
    n, left = r.get("trades"), get(r, "minute_sweep_afterwards", "settled")
    return [
        (f"expiry → trade.settled frame p50 ms ({n} trades, one second)", frame.get("p50_ms"),
         f"event commit {commit.get('p50_ms')}", "—", None),
        (f"expiry → trade.settled frame p99 ms ({n} trades, one second)", frame.get("p99_ms"),
         f"event commit {commit.get('p99_ms')}", "≤ 2,000 ms", get(r, "goal", "met")),
        ("left for the minute sweep afterwards", left, "—", "0", None if left is None else left == 0),
    ]  # fmt: skip


def rows_ws_fanout(r: dict[str, Any]) -> list[Row]:
    bare = r.get("bare_relay", {})
    rows: list[Row] = []
    for kind in ("daphne", "uvicorn"):
        ours = r.get(kind)
        if not ours:
            continue
        ratios = ours.get("ratios", {})
        rows += [
            (f"{kind}: delivered events/s (as fast as possible)", get(ours, "fast", "delivered_per_s"),
             f"bare relay {get(bare, 'fast', 'delivered_per_s')}", "≥ 0.5x bare",
             at_least(ratios.get("fast_throughput_vs_bare"), 0.5)),
            (f"{kind}: p99 ms at the offered rate", get(ours, "rate", "p99_ms"),
             f"bare relay {get(bare, 'rate', 'p99_ms')}", "≤ 2x bare",
             at_most(ratios.get("rate_p99_vs_bare"), 2.0)),
        ]  # fmt: skip
    lost = find(r, "lost_after_resume")
    lost_count = len(lost) if isinstance(lost, list | dict) else lost
    rows.append(("events lost after resume", lost_count, "—", "0", None if lost is None else lost_count == 0))
    idle = next((v for k, v in r.items() if k.startswith("idle_")), {})
    if idle:
        rows += [
            ("idle connections held by one web process", idle.get("connections_held"), "—", "10,000",
             at_least(idle.get("connections_held"), 10000)),
            ("RSS KB per idle connection", idle.get("rss_kb_per_connection"), "—", "≤ 50 KB",
             at_most(idle.get("rss_kb_per_connection"), 50)),
        ]  # fmt: skip
    return rows


def rows_mixed_load(r: dict[str, Any]) -> list[Row]:
    base, mixed, met = r.get("baseline", {}), r.get("mixed", {}), get(r, "goals", "met") or {}
    return [
        ("sockets connected", get(r, "connect", "sockets"), f"failed {get(r, 'connect', 'failed')}",
         f"all {get(r, 'config', 'users')}", met.get("all_sockets_connected")),
        ("events missing / duplicated (live)",
         f"{get(r, 'events', 'missing')} / {get(r, 'events', 'duplicated')}",
         f"of {get(r, 'events', 'events_expected_live')} expected", "0 / 0",
         met.get("no_event_missing_or_duplicated")),
        ("request → trade.opened p99 ms", get(mixed, "opened", "p99_ms"),
         f"baseline phase {get(base, 'opened', 'p99_ms')}", "≤ 100 ms and ≤ 2x baseline",
         met.get("opened_p99")),
        ("request → trade.opened p50 ms", get(mixed, "opened", "p50_ms"),
         f"baseline phase {get(base, 'opened', 'p50_ms')}", "—", None),
        ("POST /api/v1/trades/ p99 ms", get(mixed, "http", "p99_ms"),
         f"baseline phase {get(base, 'http', 'p99_ms')}", "≤ 25 ms and ≤ 2x baseline", met.get("http_p99")),
        ("within 2x of the baseline phase", get(r, "ratios_to_baseline"), "—", "≤ 2x",
         met.get("within_2x_of_baseline")),
        ("ticks received/s", get(mixed, "ticks_received_per_s"), "—", "—", None),
        ("staff health during the load", get(r, "health", "status"),
         f"WebSocket connections seen {get(r, 'health', 'websocket_connections')}", "green", None),
    ]  # fmt: skip


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "ledger": rows_ledger,
    "bars": rows_bars,
    "trades": rows_trades,
    "expiry_lag": rows_expiry_lag,
    "ws_fanout": rows_ws_fanout,
    "mixed_load": rows_mixed_load,
}


def mark(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "—"}[met]


def report(runs: dict[str, dict[str, Any]], started: datetime) -> str:
    lines = [
        "# Benchmark report",
        "",
        f"Written by `bench/run_all.py` (`./dev.py bench`) on {started:%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Every baseline is measured in the same "
        "run, on the same machine, with the load generator beside the servers: compare figures with their "
        "baselines, not with another machine.",
        "",
        "| bench | figure | measured | baseline (same run) | goal | |",
        "|---|---|---|---|---|---|",
    ]
    for name in EXPECTED + [n for n in runs if n not in EXPECTED]:
        run = runs.get(name)
        if run is None:
            why = "not run this time" if (BENCH / f"{name}.py").exists() else "missing from bench/"
            lines.append(f"| {name} | — | {why} | — | — | **not measured** |")
            continue
        if run["status"] != "ok":
            lines.append(
                f"| {name} | — | {run['status']} (see {run.get('log')}) | — | — | **not measured** |"
            )
            continue
        extractor = ROWS.get(name)
        rows = extractor(run["result"]) if extractor else []
        if not rows:
            lines.append(f"| {name} | see the JSON below | | | | |")
        for figure, measured, baseline, goal, met in rows:
            lines.append(f"| {name} | {figure} | {measured} | {baseline} | {goal} | {mark(met)} |")
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().strip()]
    lines += ["", "## Runs", ""]
    for name, run in runs.items():
        load = f" Load average (1/5/15 min) before {run.get('load_before')}, after {run.get('load_after')}."
        lines += [f"### {name}", "", f"{run['status']}, {run['seconds']} s.{load}", ""]
        if "result" in run:
            lines += ["```json", json.dumps(run["result"], indent=2), "```", ""]
        elif run.get("tail"):
            lines += ["```", *run["tail"], "```", ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--skip", default="", help="comma-separated bench names")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite bench/REPORT.md")
    parser.add_argument("--render", metavar="JSON", help="write the report from a saved run, run nothing")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        runs = {name: run for name, run in saved.items() if name in benches()}
        REPORT.write_text(report(runs, datetime.fromtimestamp(Path(args.render).stat().st_mtime, UTC)))
        return 0
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    started = datetime.now(UTC)
    runs: dict[str, dict[str, Any]] = {}
    for name in benches():
        if (only and name not in only) or name in skip:
            continue
        print(f"==> bench {name}", file=sys.stderr, flush=True)
        runs[name] = run_one(name)
        print(f"    {runs[name]['status']} in {runs[name]['seconds']} s", file=sys.stderr, flush=True)
    if not args.no_report:
        REPORT.write_text(report(runs, started))
        print(f"==> wrote {REPORT.relative_to(ROOT)}", file=sys.stderr)
    print(json.dumps(runs, indent=2, default=str))
    return 0 if all(run["status"] == "ok" for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
