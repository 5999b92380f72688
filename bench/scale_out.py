"""The same fan-out and trade load on 1 and on 2 web processes, in one run.

    .venv/bin/python bench/scale_out.py        # prints one JSON document

For each web process count it runs bench/ws_fanout.py (BENCH_FANOUT_CLIENTS
sockets, one user each: an open-loop `rate` phase and an as-fast-as-possible
`fast` phase, the publisher in its own process) and bench/mixed_load.py
(traders with sockets requesting trades at BENCH_RATE, then the same with
BENCH_USERS sockets and ticker subscribers), each on its own Redis and
database, with the web processes started as `./dev.py run` starts them
(`python -m realtime.server --processes N`).

Reported per count: events delivered per second and the web processes' CPU
seconds per 1,000 events delivered (fan-out); request -> `trade.opened`
latency and the CPU seconds of the web processes and of the Celery worker
per 1,000 trades (trade load); and the 2-process / 1-process ratios. The load
generators run on the same cores, so a second process adds what these cores
have left, not a second machine's worth: the CPU per 1,000 (efficiency) is
the figure that carries over to a capacity plan (docs/scaling.md), the
totals are what this machine did.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

FANOUT_CLIENTS = os.environ.get("BENCH_FANOUT_CLIENTS", "1000")
FANOUT_RATE = os.environ.get("BENCH_FANOUT_RATE", "1000")
FANOUT_BURST = os.environ.get("BENCH_FANOUT_BURST", "10000")


def log(message: str) -> None:
    print(f"[scale_out {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_json(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{command[1]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout[out.stdout.index("{") :])


def fanout(processes: int) -> dict[str, Any]:
    command = [PY, "bench/ws_fanout.py", "--web-processes", str(processes), "--idle", "0"]
    command += ["--clients", FANOUT_CLIENTS, "--rate", FANOUT_RATE, "--burst", FANOUT_BURST]
    result = run_json(command, dict(os.environ))
    ours = result["daphne"]
    return {
        "rate": {k: ours["rate"][k] for k in ("offered", "delivered", "p50_ms", "p99_ms", "server_cpu_s")},
        "fast": {k: ours["fast"][k] for k in ("delivered", "delivered_per_s", "server_cpu_s")},
        "server_cpu_s_per_1000_events": {
            "rate": ours["rate"]["server_cpu_s_per_1000_delivered"],
            "fast": ours["fast"]["server_cpu_s_per_1000_delivered"],
        },
        "fast_vs_bare_relay": ours["ratios"]["fast_throughput_vs_bare"],
        "lost_after_resume": ours.get("lost_after_resume"),
    }


def trades(processes: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_WEB_PROCESSES": str(processes)}
    result = run_json([PY, "bench/mixed_load.py"], env)
    phases = {}
    for name in ("baseline", "mixed"):
        phase = result[name]
        phases[name] = {
            "sockets": phase["sockets"],
            "trades": phase["trades_requested"],
            "opened_ms": {k: phase["opened"].get(k) for k in ("p50_ms", "p99_ms")},
            "opened_missing": phase["opened_missing"],
            "frames_delivered": phase["frames_delivered"],
            "cpu_s": phase["cpu_s"],
            "cpu_s_per_1000_trades": phase["cpu_s_per_1000_trades"],
        }
    phases["events"] = result["events"]
    return phases


def ratio(two: float | None, one: float | None) -> float | None:
    return round(two / one, 2) if two and one else None


def main() -> None:
    started = time.monotonic()
    result: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    for processes in (1, 2):
        log(f"{processes} web process(es): fan-out")
        result[f"web_{processes}"] = {"fanout": fanout(processes)}
        log(f"{processes} web process(es): trades")
        result[f"web_{processes}"]["trades"] = trades(processes)
    one, two = result["web_1"], result["web_2"]
    result["ratios_2_to_1"] = {
        "fanout_delivered_per_s": ratio(
            two["fanout"]["fast"]["delivered_per_s"], one["fanout"]["fast"]["delivered_per_s"]
        ),
        "fanout_cpu_per_1000_events": ratio(
            two["fanout"]["server_cpu_s_per_1000_events"]["fast"],
            one["fanout"]["server_cpu_s_per_1000_events"]["fast"],
        ),
        "trades_web_cpu_per_1000": ratio(
            two["trades"]["baseline"]["cpu_s_per_1000_trades"]["web"],
            one["trades"]["baseline"]["cpu_s_per_1000_trades"]["web"],
        ),
        "opened_p99_mixed": ratio(
            two["trades"]["mixed"]["opened_ms"]["p99_ms"], one["trades"]["mixed"]["opened_ms"]["p99_ms"]
        ),
    }
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
